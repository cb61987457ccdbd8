{#
    score_grid_counts on Spark and Databricks, which have no aggregate that counts by given
    edges: a binary search of nested CASEs per score over the batch's grid edges (edges_below),
    then sums over the positions. Reads at most max_grid_points grid points (var
    reference_grid_points; tests/assert_reference_score_grid_fits_the_ks.sql checks the grid).
    Same output as default__score_grid_counts; the Spark suite compares the two.
#}
{% macro spark__score_grid_counts(scores, grid, max_grid_points) -%}
    with

    -- F(v) on the grid without sorting the batch: the grid values in ascending order (rank r,
    -- ties by quantile) are the edges e_0 <= e_1 <= ...; a score s has n_edges_below(s) edges
    -- < s and n_edges_at_or_below(s) edges <= s (binary searches, macros/monitoring/edges_below.sql).
    -- Then s <= e_r iff n_edges_below(s) <= r, and s < e_r iff n_edges_at_or_below(s) <= r: the
    -- counts F(v) and F(v-) need are sums over at most (grid points + 1)^2 positions per batch.
    grid_ranked as (

        select
            batch_id,
            quantile,
            value,
            row_number() over (partition by batch_id order by value asc, quantile asc) - 1
                as grid_rank
        from {{ grid }}

    ),

    grid_edges as (

        select
            {%- for rank in range(max_grid_points) %}
                max(case when grid_rank = {{ rank }} then value end) as edge_{{ rank }},
            {%- endfor %}
            batch_id
        from grid_ranked
        group by batch_id

    ),

    score_positions as (

        select
            scores.batch_id,
            {{ edges_below('scores.fraud_probability', 'grid_edges.edge_', max_grid_points) }}
                as n_edges_below,
            {{ edges_below('scores.fraud_probability', 'grid_edges.edge_', max_grid_points, strictly=false) }}
                as n_edges_at_or_below
        from {{ scores }} as scores
        inner join grid_edges
            on scores.batch_id = grid_edges.batch_id
        where scores.fraud_probability is not null

    ),

    position_counts as (

        select
            batch_id,
            n_edges_below,
            n_edges_at_or_below,
            count(*) as n_scores
        from score_positions
        group by batch_id, n_edges_below, n_edges_at_or_below

    )

    select
        grid_ranked.batch_id,
        grid_ranked.quantile,
        coalesce(sum(case
            when position_counts.n_edges_below <= grid_ranked.grid_rank
                then position_counts.n_scores
        end), 0) as n_at_or_below,
        coalesce(sum(case
            when position_counts.n_edges_at_or_below <= grid_ranked.grid_rank
                then position_counts.n_scores
        end), 0) as n_below
    from grid_ranked
    left join position_counts
        on grid_ranked.batch_id = position_counts.batch_id
    group by grid_ranked.batch_id, grid_ranked.quantile, grid_ranked.grid_rank
{%- endmacro %}
