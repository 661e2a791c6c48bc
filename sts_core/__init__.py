"""COS credential vending: verify the caller, scope a policy to their prefix, ask STS."""
