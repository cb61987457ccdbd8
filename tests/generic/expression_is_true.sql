{#
    Fails for every row where the SQL boolean expression is not true (false or null).
    Usable on a model (expression over its columns) or on a column (expression applied to it,
    e.g. expression: ">= 0").
#}
{% test expression_is_true(model, expression, column_name=none) %}

    select *
    from {{ model }}
    {% if column_name is none %}
        where not coalesce({{ expression }}, false)
    {% else %}
        where not coalesce({{ column_name }} {{ expression }}, false)
    {% endif %}

{% endtest %}
