"""The operator: kopf handlers around pure builders and status logic."""
