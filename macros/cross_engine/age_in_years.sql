{#
    Calendar age: completed years on a date, from a date of birth. The birthday counts from
    the birthday itself, and a 29 February birthday from 1 March in years without one. The
    generator uses the same rule (claims_fraud.synthetic.sampling.calendar_age). Plain
    extract(), the same SQL on DuckDB and Spark.
#}
{% macro age_in_years(birth_date, as_of_date) -%}
    (
        extract(year from {{ as_of_date }}) - extract(year from {{ birth_date }})
        - case
            when
                extract(month from {{ as_of_date }}) * 100 + extract(day from {{ as_of_date }})
                < extract(month from {{ birth_date }}) * 100 + extract(day from {{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}
