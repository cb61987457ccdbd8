"""Where jobs read and write tables outside dbt, and the checks on values from outside."""
