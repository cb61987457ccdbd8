{# Age in whole years on a date, from a date of birth. #}
{% macro age_in_years(birth_date, as_of_date) -%}
    floor({{ dbt.datediff(birth_date, as_of_date, 'day') }} / 365.25)
{%- endmacro %}
