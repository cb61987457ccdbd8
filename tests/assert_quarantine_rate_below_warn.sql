{{ config(severity='warn', store_failures=true) }}
{#
    A rejected feed is not a small delivery: warns when the share of the delivery's claim lines
    sent to claims_quarantine is at or above quarantine_rate_warn
    (seeds/monitoring_thresholds.csv). The failing row gives the rate, the threshold and the
    most frequent reasons; claims_quarantine holds every line with its reasons.
#}
{{ quarantine_rate_check('warn') }}
