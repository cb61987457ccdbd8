{#
    One row per (rendering specialty, procedure code, service date) on which the code was
    billed: the distribution of the natural log of line charges among peers on earlier days,
    used to express a line's charge as a peer z-score. Point in time: a line is compared with
    the lines of earlier service dates only (fct_claim_features joins on specialty, code and
    the line's start date). Log scale because charges are lognormal; the mean and sample
    standard deviation come from running sums (count, sum, sum of squares) of ln(charge).
    Rounded to 10 decimals so results do not depend on the engine's summation order.
#}

with

valid_lines as (

    select * from {{ ref('int_claim_lines_validated') }}

),

peer_days as (

    select
        rendering_specialty,
        hcpcs_code,
        claim_line_start_date as service_date,
        count(*) as day_line_count,
        sum(ln(charge_amount)) as day_sum_log_charge,
        sum(ln(charge_amount) * ln(charge_amount)) as day_sum_squared_log_charge

    from valid_lines
    group by rendering_specialty, hcpcs_code, claim_line_start_date

),

running as (

    select
        rendering_specialty,
        hcpcs_code,
        service_date,
        coalesce(sum(day_line_count) over peers_before, 0) as peer_line_count,
        sum(day_sum_log_charge) over peers_before as sum_log_charge,
        sum(day_sum_squared_log_charge) over peers_before as sum_squared_log_charge

    from peer_days
    window peers_before as (
        partition by rendering_specialty, hcpcs_code
        order by service_date
        rows between unbounded preceding and 1 preceding
    )

),

peer_stats as (

    select
        rendering_specialty,
        hcpcs_code,
        service_date,
        peer_line_count,
        round(sum_log_charge / nullif(peer_line_count, 0), 10) as mean_log_charge,
        case
            when peer_line_count > 1
                then
                    round(
                        sqrt(
                            greatest(
                                (sum_squared_log_charge - sum_log_charge * sum_log_charge / peer_line_count)
                                / (peer_line_count - 1),
                                0
                            )
                        ),
                        10
                    )
        end as stddev_log_charge

    from running

)

select * from peer_stats
