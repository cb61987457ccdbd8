{#
    One row per (rendering specialty, procedure code, service date) on which the code was
    billed: the distribution of the natural log of line charges among peers on earlier days,
    used to express a line's charge as a peer z-score. Point in time: a line is compared with
    the lines of earlier service dates only (fct_claim_features joins on specialty, code and
    the line's start date). Log scale because charges are lognormal; the mean and sample
    standard deviation come from running sums (count, sum, sum of squares) of ln(charge).
    The running sums add ln(charge) rounded to 12 decimals as DECIMAL, exactly, so a rebuild or
    another engine gets the same sums whatever order it adds them in (double sums differed in
    the last bits between two builds); the results are rounded to 10 decimals.
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
        sum(cast(round(ln(charge_amount), 12) as decimal(38, 12))) as day_sum_log_charge,
        sum(cast(round(ln(charge_amount) * ln(charge_amount), 12) as decimal(38, 12)))
            as day_sum_squared_log_charge

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
        round(cast(sum_log_charge as double) / nullif(peer_line_count, 0), 10) as mean_log_charge,
        case
            when peer_line_count > 1
                then
                    round(
                        sqrt(
                            greatest(
                                (
                                    cast(sum_squared_log_charge as double)
                                    - cast(sum_log_charge as double) * cast(sum_log_charge as double)
                                    / peer_line_count
                                )
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
