{#
    How many rows fall in each bin of a reference profile, one row per key, feature and bin
    that holds rows (key, feature_name, bin_index, n_values): the one binning rule behind the
    reference counts (ml_reference_profile, over the champion's training window) and the batch
    counts (mon_feature_psi_bins). A select statement; use it as the body of a CTE.

    - `values`: a relation or CTE with the key column, model_version (whose bins apply) and one
      column per feature and per score column.
    - `bins`: the bin definitions (model_version, feature_name, bin_index, bin_kind,
      upper_bound, level), as training logged them (ml_reference_bins).
    - `features`: [{name, type}] (monitored_features()); numeric ones and `score_columns` are
      binned by range, boolean and categorical ones by level.

    Range bins are (lower, upper], bins 0, 1, ... in edge order, the outer ones open: a value's
    bin is the number of edges strictly below it, so a value on an edge stays in the bin that
    ends there and an outlier lands in an open outer bin. NULL and NaN go to the null bin.
    Levels are the value as text ('true' / 'false' for booleans), matched exactly
    (case-sensitive, no trimming); a level without its own bin goes to the other bin, NULL to
    the null bin. A feature without bins for the row's model version is not counted. The test
    oracle is python_jobs/tests/psi_oracle.py (bin_values).

    Dispatched: default__ (DuckDB) below, spark__ (Spark, Databricks) in macros/adapters/spark.
#}
{% macro feature_bin_counts(values, bins, key, features, score_columns, max_range_bins=20) -%}
    {{ return(adapter.dispatch('feature_bin_counts', 'claims_fraud')(
        values, bins, key, features, score_columns, max_range_bins)) }}
{%- endmacro %}

{#
    DuckDB: one aggregate over `values` per key and model version, a histogram per feature
    (DuckDB's histogram(value, edges) puts a value in the bucket of the smallest edge >= it,
    (lower, upper] as above, and anything above the last edge in an `inf` bucket; without
    edges it counts each level). The buckets then become bin indexes: edge i is the upper
    bound of bin i, the `inf` bucket the top bin, the rows the histogram left out (NULL, NaN)
    the null bin. The aggregate reads each row once and keeps no bin column per row, which is
    what made the binary-search version (spark__) slow here: 7.7 s for 5M claims against 2.3.
    max_range_bins is not needed (the edges are a list of any length).
    Measured on the 5M-claim batch of 20,000 providers (benchmarks/bench_monitor.py, the
    model 9.5 s -> 5.3 s): the rows are sorted by key before the aggregate (a histogram
    update that jumps between 20,000 keys' states costs three times one that stays on a key),
    each key's histograms are unnested in the aggregate's own select (one row per key and
    feature, no per-feature scans of the aggregate), and the buckets become bins in list
    lambdas, not through a lateral join and a GROUP BY over every key's buckets.
#}
{% macro default__feature_bin_counts(values, bins, key, features, score_columns, max_range_bins) -%}
    {%- set numeric_names = features | selectattr('type', 'equalto', 'numeric') | map(attribute='name') | list + score_columns %}
    {%- set level_features = features | rejectattr('type', 'equalto', 'numeric') | list %}
    with

    fb_feature_bins as (

        select
            model_version,
            feature_name,
            max(case when bin_kind = 'null' then bin_index end) as null_bin,
            max(case when bin_kind = 'other' then bin_index end) as other_bin,
            coalesce(
                list(upper_bound order by bin_index) filter (
                    where bin_kind = 'range' and upper_bound is not null
                ),
                []
            ) as edges
        from {{ bins }}
        group by model_version, feature_name

    ),

    -- One row per model version: the edges of every range feature (empty when it has none;
    -- histogram needs a list, and the features without bins are dropped further down).
    fb_model_edges as (

        select
            model_version
            {%- for name in numeric_names %},
                coalesce(
                    max(case when feature_name = {{ sql_literal(name) }} then edges end),
                    cast([] as double[])
                ) as {{ name }}__edges
            {%- endfor %}
        from fb_feature_bins
        group by model_version

    ),

    -- One row per key, model version and feature: the feature's histogram, unnested from one
    -- aggregate over the rows, which reads each row once. histogram takes the edges of a
    -- group's first row: one model version per group, so one list of edges per group. Range
    -- buckets are keyed by their upper edge, level buckets by the level's text (made per bucket,
    -- not per row); both kinds share one struct, the other kind's list NULL.
    fb_histograms as (

        select
            binned_values.{{ key }} as count_key,
            binned_values.model_version,
            count(*) as n_rows,
            unnest([
                {%- for name in numeric_names %}
                    struct_pack(
                        feature_name := {{ sql_literal(name) }},
                        range_buckets := map_entries(histogram(
                            case
                                when not isnan(cast(binned_values.{{ name }} as double))
                                    then cast(binned_values.{{ name }} as double)
                            end,
                            fb_model_edges.{{ name }}__edges
                        )),
                        level_buckets := cast(null as struct(key {{ dbt.type_string() }}, value ubigint)[])
                    ),
                {%- endfor %}
                {%- for feature in level_features %}
                    struct_pack(
                        feature_name := {{ sql_literal(feature.name) }},
                        range_buckets := cast(null as struct(key double, value ubigint)[]),
                        level_buckets := list_transform(
                            -- booleans as 0 / 1 against edges [0, 1], which DuckDB counts in
                            -- this pass (a histogram of booleans cost 0.7 s more at 5M claims)
                            {%- if feature.type == 'boolean' %}
                                map_entries(histogram(
                                    cast(binned_values.{{ feature.name }} as integer), [0, 1]
                                )),
                            {%- else %}
                                map_entries(histogram(binned_values.{{ feature.name }})),
                            {%- endif %}
                            lambda entry: struct_pack(
                                key := {{ level_text(
                                    'cast(entry.key as boolean)' if feature.type == 'boolean' else 'entry.key',
                                    feature.type) }},
                                value := entry.value
                            )
                        )
                    ){{ ',' if not loop.last }}
                {%- endfor %}
            ]) as feature_histogram
        -- Sorted by key first: the aggregate then updates one key's states row after row
        -- instead of jumping between 20,000 providers' (5M claims: 5.9 s -> 3.1 s with the sort)
        from (select * from {{ values }} order by hash({{ key }})) as binned_values
        -- Not an equi-join on purpose: DuckDB would hash-join it and copy every edge list into
        -- each row (or push the join below the joins inside `values` and carry the lists
        -- through their hash tables: 21 s at 5M claims). As a predicate it is a nested-loop
        -- join against a handful of model versions, and each version's lists reach the
        -- histograms as constants. A model version without bins has no row here, and so no
        -- counts, as the spark__ version.
        inner join fb_model_edges
            on case when binned_values.model_version = fb_model_edges.model_version then true else false end
        group by binned_values.{{ key }}, binned_values.model_version

    ),

    fb_feature_histograms as (

        select
            fb_histograms.count_key,
            fb_histograms.n_rows,
            fb_feature_bins.feature_name,
            fb_feature_bins.model_version,
            fb_feature_bins.null_bin,
            fb_feature_bins.other_bin,
            fb_feature_bins.edges,
            fb_histograms.feature_histogram.range_buckets,
            fb_histograms.feature_histogram.level_buckets
        from fb_histograms
        inner join fb_feature_bins
            on
                fb_histograms.model_version = fb_feature_bins.model_version
                and fb_histograms.feature_histogram.feature_name = fb_feature_bins.feature_name
        -- as the spark__ version: a range feature without a null bin is not counted
        where fb_histograms.feature_histogram.range_buckets is null or fb_feature_bins.null_bin is not null

    ),

    -- range buckets: edge i closes bin i, the `inf` bucket is the top bin. One bucket per bin,
    -- so no aggregate (the buckets of all keys: 4.5M rows for 5M claims of 20,000 providers)
    fb_range_buckets as (

        select
            count_key,
            feature_name,
            unnest(list_transform(
                range_buckets,
                lambda entry: struct_pack(
                    bin_index := coalesce(list_position(edges, entry.key), len(edges) + 1) - 1,
                    n_values := entry.value
                )
            )) as bucket
        from fb_feature_histograms
        where range_buckets is not null

    ),

    -- level buckets: the level's bin, else the other bin (several levels may share it)
    fb_level_buckets as (

        select
            count_key,
            model_version,
            feature_name,
            other_bin,
            unnest(level_buckets) as bucket
        from fb_feature_histograms
        where level_buckets is not null

    ),

    fb_level_counts as (

        select
            fb_level_buckets.count_key,
            fb_level_buckets.feature_name,
            coalesce(level_bins.bin_index, fb_level_buckets.other_bin) as bin_index,
            sum(fb_level_buckets.bucket.value) as n_values
        from fb_level_buckets
        left join {{ bins }} as level_bins
            on
                fb_level_buckets.model_version = level_bins.model_version
                and fb_level_buckets.feature_name = level_bins.feature_name
                and level_bins.bin_kind = 'level'
                and fb_level_buckets.bucket.key = level_bins.level
        group by
            fb_level_buckets.count_key,
            fb_level_buckets.feature_name,
            coalesce(level_bins.bin_index, fb_level_buckets.other_bin)

    ),

    fb_assigned as (

        select
            count_key,
            feature_name,
            bucket.bin_index,
            bucket.n_values
        from fb_range_buckets
        union all
        select
            count_key,
            feature_name,
            bin_index,
            n_values
        from fb_level_counts
        union all
        -- the rows no bucket holds (NULL and NaN): the null bin, one row per key and feature
        select
            count_key,
            feature_name,
            null_bin as bin_index,
            n_rows - coalesce(
                list_sum(list_transform(range_buckets, lambda entry: entry.value)),
                list_sum(list_transform(level_buckets, lambda entry: entry.value)),
                0
            ) as n_values
        from fb_feature_histograms

    )

    select
        count_key as {{ key }},
        feature_name,
        cast(bin_index as bigint) as bin_index,
        cast(n_values as bigint) as n_values
    from fb_assigned
    where n_values > 0
{%- endmacro %}
