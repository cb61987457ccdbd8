{#
    feature_bin_counts on Spark and Databricks, which have no aggregate that bins by given edges:
    every range feature binned in one pass over `values` by a binary search of nested CASEs
    over its edges (edges_below; one bin column per feature, one grouping set per feature),
    the level features in one union. Same rule and output as default__feature_bin_counts;
    the Spark suite compares the two (python_jobs/tests/spark/test_parity.py).
#}
{% macro spark__feature_bin_counts(values, bins, key, features, score_columns, max_range_bins) -%}
    {%- set numeric_names = features | selectattr('type', 'equalto', 'numeric') | map(attribute='name') | list + score_columns %}
    {%- set level_features = features | rejectattr('type', 'equalto', 'numeric') | list %}
    with

    fb_feature_bins as (

        select
            model_version,
            feature_name,
            max(case when bin_kind = 'null' then bin_index end) as null_bin,
            max(case when bin_kind = 'other' then bin_index end) as other_bin
        from {{ bins }}
        group by model_version, feature_name

    ),

    -- One row per model version: for every range feature its null bin and the upper edges of
    -- its range bins, which are bins 0, 1, ... in order (the profile contract).
    fb_numeric_edges as (

        select
            model_version
            {%- for name in numeric_names %},
                max(case when feature_name = {{ sql_literal(name) }} and bin_kind = 'null' then bin_index end)
                    as {{ name }}__null_bin
                {%- for edge in range(max_range_bins - 1) %},
                    max(
                        case
                            when feature_name = {{ sql_literal(name) }} and bin_kind = 'range' and bin_index = {{ edge }}
                                then upper_bound
                        end
                    ) as {{ name }}__edge_{{ edge }}
                {%- endfor %}
            {%- endfor %}
        from {{ bins }}
        group by model_version

    ),

    fb_numeric_binned as (

        select
            {%- for name in numeric_names %}
                case
                    when fb_numeric_edges.{{ name }}__null_bin is null then null
                    when binned_values.{{ name }} is null or isnan(cast(binned_values.{{ name }} as double))
                        then fb_numeric_edges.{{ name }}__null_bin
                    else {{ edges_below(
                        'cast(binned_values.' ~ name ~ ' as double)',
                        'fb_numeric_edges.' ~ name ~ '__edge_',
                        max_range_bins - 1) }}
                end as {{ name }}__bin,
            {%- endfor %}
            binned_values.{{ key }} as count_key
        from {{ values }} as binned_values
        inner join fb_numeric_edges
            on binned_values.model_version = fb_numeric_edges.model_version

    ),

    fb_numeric_counts as (

        {%- if numeric_names %}
            select
                {%- for name in numeric_names %}
                    {{ name }}__bin,
                {%- endfor %}
                count_key,
                count(*) as n_values
            from fb_numeric_binned
            group by grouping sets (
                {%- for name in numeric_names %}
                    (count_key, {{ name }}__bin){% if not loop.last %},{% endif %}
                {%- endfor %}
            )
        {%- else %}
            select
                count_key,
                count(*) as n_values
            from fb_numeric_binned
            group by count_key
        {%- endif %}

    ),

    fb_numeric_assigned as (

        {%- for name in numeric_names %}
            select
                count_key,
                {{ sql_literal(name) }} as feature_name,
                {{ name }}__bin as bin_index,
                n_values
            from fb_numeric_counts
            where {{ name }}__bin is not null
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- else %}
            select
                count_key,
                cast(null as {{ dbt.type_string() }}) as feature_name,
                cast(null as bigint) as bin_index,
                n_values
            from fb_numeric_counts
            where 1 = 0
        {%- endfor %}

    ),

    fb_level_values as (

        {%- for feature in level_features %}
            select
                {{ key }} as count_key,
                model_version,
                {{ sql_literal(feature.name) }} as feature_name,
                {{ level_text(feature.name, feature.type) }} as level_value
            from {{ values }}
            {%- if not loop.last %}
                union all
            {%- endif %}
        {%- else %}
            select
                {{ key }} as count_key,
                model_version,
                cast(null as {{ dbt.type_string() }}) as feature_name,
                cast(null as {{ dbt.type_string() }}) as level_value
            from {{ values }}
            where 1 = 0
        {%- endfor %}

    ),

    fb_level_counts as (

        select
            count_key,
            model_version,
            feature_name,
            level_value,
            count(*) as n_values
        from fb_level_values
        group by count_key, model_version, feature_name, level_value

    ),

    fb_level_assigned as (

        select
            fb_level_counts.count_key,
            fb_level_counts.feature_name,
            fb_level_counts.n_values,
            case
                when fb_level_counts.level_value is null then fb_feature_bins.null_bin
                else coalesce(level_bins.bin_index, fb_feature_bins.other_bin)
            end as bin_index
        from fb_level_counts
        inner join fb_feature_bins
            on
                fb_level_counts.model_version = fb_feature_bins.model_version
                and fb_level_counts.feature_name = fb_feature_bins.feature_name
        left join {{ bins }} as level_bins
            on
                fb_level_counts.model_version = level_bins.model_version
                and fb_level_counts.feature_name = level_bins.feature_name
                and level_bins.bin_kind = 'level'
                and fb_level_counts.level_value = level_bins.level

    ),

    fb_assigned as (

        select
            count_key,
            feature_name,
            bin_index,
            n_values
        from fb_numeric_assigned
        union all
        select
            count_key,
            feature_name,
            bin_index,
            n_values
        from fb_level_assigned

    )

    select
        count_key as {{ key }},
        feature_name,
        bin_index,
        cast(sum(n_values) as bigint) as n_values
    from fb_assigned
    group by count_key, feature_name, bin_index
{%- endmacro %}
