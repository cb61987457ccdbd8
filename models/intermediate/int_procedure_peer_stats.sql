{#
    One row per (rendering specialty, procedure code): the distribution of the natural log of
    line charges among peers, used to express a line's charge as a peer z-score.
    Log scale because charges are lognormal; groups too small or without spread get no z-score.
    Rounded to 10 decimals so results do not depend on the engine's summation order.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

peer_stats as (

    select
        rendering_specialty,
        hcpcs_code,
        count(*) as peer_line_count,
        round(avg(ln(charge_amount)), 10) as mean_log_charge,
        round(stddev_samp(ln(charge_amount)), 10) as stddev_log_charge

    from valid_lines
    group by rendering_specialty, hcpcs_code

)

select * from peer_stats
