{#
    Contract not_null constraints on Apache Spark: dbt-spark sets them with ALTER COLUMN ...
    SET NOT NULL, which only Delta tables support. On the local `spark` target (Parquet) the
    constraint is skipped (the not_null data tests still check the columns); elsewhere (a
    Spark warehouse with Delta) dbt-spark's statement, unchanged.
#}
{% macro spark__alter_column_set_constraints(relation, column_dict) %}
    {%- for column_name in column_dict -%}
        {%- for constraint in column_dict[column_name]['constraints'] -%}
            {%- if constraint.type != 'not_null' -%}
                {{ exceptions.warn('Invalid constraint for column ' ~ column_name ~ '. Only `not_null` is supported.') }}
            {%- elif target.type != 'spark' -%}
                {%- set quoted_name = adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name -%}
                {%- call statement() -%}
                    alter table {{ relation }} change column {{ quoted_name }} set not null {{ constraint.expression or "" }}
                {%- endcall -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{% endmacro %}
