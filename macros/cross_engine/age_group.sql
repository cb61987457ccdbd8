{# The age bands monitoring uses for disparate impact. #}
{% macro age_group(birth_date, as_of_date) -%}
    case
        when {{ birth_date }} is null then 'unknown'
        when {{ age_in_years(birth_date, as_of_date) }} < 18 then '0-17'
        when {{ age_in_years(birth_date, as_of_date) }} < 35 then '18-34'
        when {{ age_in_years(birth_date, as_of_date) }} < 50 then '35-49'
        when {{ age_in_years(birth_date, as_of_date) }} < 65 then '50-64'
        else '65+'
    end
{%- endmacro %}
