{#
    The PSI verdict: no_data (empty batch), missing_reference (no reference profile for the
    model version), error / warn (PSI at or above the threshold and the critical value),
    insufficient_evidence (at or above warn but below the critical value), ok.
#}
{% macro psi_status(psi, critical_value, current_n, n_bins, psi_warn, psi_error) -%}
    case
        when {{ current_n }} = 0 then 'no_data'
        when {{ n_bins }} is null then 'missing_reference'
        when {{ psi }} >= {{ psi_error }} and {{ psi }} >= {{ critical_value }} then 'error'
        when {{ psi }} >= {{ psi_warn }} and {{ psi }} >= {{ critical_value }} then 'warn'
        when {{ psi }} >= {{ psi_warn }} then 'insufficient_evidence'
        else 'ok'
    end
{%- endmacro %}
