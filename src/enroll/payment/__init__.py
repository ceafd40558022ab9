"""Payment methods (seed 003, docs/payments.md): provider customers, setups and the methods
stored for enrollments. The enrollment-level use cases are ``enrollment/payments.py``."""
