{#
    For the test suite (python_jobs/tests/reliability/test_var_injection.py), one call for many
    values: `dbt run-operation var_rule_verdicts --args '{cases: [[value, rule], ...],
    literals: [...]}'` logs one JSON line: the verdict of each rule on its value, and each
    literal as the warehouse reads it back through sql_literal, and the scoring batches the
    scoring vars of the call plan (scoring_batches). The same values go through
    claims_fraud.warehouse.params, so the Jinja rules and their Python twin are held to one list.
#}
{% macro var_rule_verdicts(cases, literals=[]) %}
    {%- set verdicts = [] -%}
    {%- for case in cases -%}
        {%- do verdicts.append(satisfies_rule(case[0], case[1])) -%}
    {%- endfor -%}
    {%- set read_back = [] -%}
    {%- for value in literals -%}
        {%- do read_back.append(run_query('select ' ~ sql_literal(value) ~ ' as v').columns[0].values()[0]) -%}
    {%- endfor -%}
    {%- do log('var_rule_verdicts ' ~ tojson({'verdicts': verdicts, 'literals': read_back, 'scoring_batches': scoring_batches()}), info=true) -%}
{% endmacro %}
