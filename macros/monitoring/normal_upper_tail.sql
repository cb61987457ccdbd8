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
