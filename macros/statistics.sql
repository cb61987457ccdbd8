{#
    Distribution functions the monitoring models need, as plain arithmetic (exp, ln, sqrt),
    so the same SQL runs on DuckDB and Spark, neither of which has them built in.
#}

{#
    Upper tail of the standard normal, 1 - Phi(x), for x >= 0: Hart's algorithm 5666 as given
    by West (2005), "Better approximations to cumulative normal functions"; absolute error
    below 1e-14 over the whole line. Two-sided p-value of a z statistic: 2 * this of |z|.
#}
{% macro normal_upper_tail(x) -%}
    (case
        when ({{ x }}) > 37 then cast(0 as double)
        when ({{ x }}) < 7.07106781186547 then
            exp(-({{ x }}) * ({{ x }}) / 2)
            * ((((((0.0352624965998911 * ({{ x }}) + 0.700383064443688) * ({{ x }})
                + 6.37396220353165) * ({{ x }}) + 33.912866078383) * ({{ x }})
                + 112.079291497871) * ({{ x }}) + 221.213596169931) * ({{ x }})
                + 220.206867912376)
            / (((((((0.0883883476483184 * ({{ x }}) + 1.75566716318264) * ({{ x }})
                + 16.064177579207) * ({{ x }}) + 86.7807322029461) * ({{ x }})
                + 296.564248779674) * ({{ x }}) + 637.333633378831) * ({{ x }})
                + 793.826512519948) * ({{ x }}) + 440.413735824752)
        else
            exp(-({{ x }}) * ({{ x }}) / 2)
            / (({{ x }}) + 1 / (({{ x }}) + 2 / (({{ x }}) + 3 / (({{ x }}) + 4 / (({{ x }}) + 0.65)))))
            / 2.506628274631
    end)
{%- endmacro %}

{#
    Standard normal quantile Phi^-1(p) for 0.5 <= p < 1 (the upper quantiles monitoring uses):
    Acklam's rational approximation, relative error below 1.2e-9. In the central region
    (p <= 0.97575) the central formula, above it the tail formula.
#}
{% macro normal_quantile_upper(p) -%}
    (case
        when ({{ p }}) <= 0.97575 then
            ((((((-39.69683028665376 * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 220.9460984245205)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) - 275.9285104469687)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 138.3577518672690)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) - 30.66479806614716)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 2.506628277459239) * (({{ p }}) - 0.5))
            / (((((-54.47609879822406 * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 161.5858368580409)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) - 155.6989798598866)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 66.80131188771972)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) - 13.28068155288572)
                * (({{ p }}) - 0.5) * (({{ p }}) - 0.5) + 1)
        else
            -(((((-0.007784894002430293 * sqrt(-2 * ln(1 - ({{ p }}))) - 0.3223964580411365)
                * sqrt(-2 * ln(1 - ({{ p }}))) - 2.400758277161838)
                * sqrt(-2 * ln(1 - ({{ p }}))) - 2.549732539343734)
                * sqrt(-2 * ln(1 - ({{ p }}))) + 4.374664141464968)
                * sqrt(-2 * ln(1 - ({{ p }}))) + 2.938163982698783)
            / ((((0.007784695709041462 * sqrt(-2 * ln(1 - ({{ p }}))) + 0.3224671290700398)
                * sqrt(-2 * ln(1 - ({{ p }}))) + 2.445134137142996)
                * sqrt(-2 * ln(1 - ({{ p }}))) + 3.754408661907416)
                * sqrt(-2 * ln(1 - ({{ p }}))) + 1)
    end)
{%- endmacro %}

{#
    Chi-square quantile with df degrees of freedom at probability p (p >= 0.5), by the
    Wilson-Hilferty approximation: df * (1 - 2 / (9 df) + z_p * sqrt(2 / (9 df)))^3.
#}
{% macro chi_square_quantile(p, df) -%}
    (cast({{ df }} as double) * power(
        1 - 2 / (9 * cast({{ df }} as double))
        + {{ normal_quantile_upper(p) }} * sqrt(2 / (9 * cast({{ df }} as double))),
        3
    ))
{%- endmacro %}

{# Linear-interpolation percentile (numpy's default 'linear' method), per engine. #}
{% macro percentile_cont(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'claims_fraud')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
