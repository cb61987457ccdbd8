{#
    mon_score_distribution reads the KS distance on at most reference_grid_points reference grid
    points per model version (dbt_project.yml; training logs 101: quantiles 0, 0.01, ..., 1). A
    model version with more would be read short: one row per such version, with its count.
#}

select
    model_version,
    count(*) as n_grid_points
from {{ ref('ml_reference_score_quantiles') }}
group by model_version
having count(*) > {{ checked_var('reference_grid_points') | int }}
