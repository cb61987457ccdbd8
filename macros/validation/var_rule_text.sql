{# The words for a rule, as the error message of require_rule says them. #}
{% macro var_rule_text(rule) -%}
    {{ return({
        'batch_id': "a batch id: 1 to 64 characters, letters, digits, '_', '-', '.' or ':', starting with a letter or digit",
        'optional_timestamp': "empty, or a real date YYYY-MM-DD, optionally with a time HH:MM[:SS] after a space or 'T'",
        'identifier': "an identifier: a letter or '_', then letters, digits or '_' (at most 128 characters)",
        'optional_identifier': "empty (null), or an identifier: a letter or '_', then letters, digits or '_'",
        'positive_number': "a number greater than 0",
        'non_negative_integer': "a whole number, 0 or more",
        'identifier_list': "unset, or a list (or a name -> type mapping) of identifiers",
        'path': "a folder path without quotes, backslashes, semicolons or control characters",
        'optional_boolean': "unset, true or false",
    }[rule]) }}
{%- endmacro %}
