{# delete_earlier_batch_rows on Databricks (Delta): the default DELETE, not spark__'s no-op. #}
{% macro databricks__delete_earlier_batch_rows(relation, batch_ids) -%}
    {{ return(default__delete_earlier_batch_rows(relation, batch_ids)) }}
{%- endmacro %}
