"""HTTP towards hosts we do not control.

Where a request may go (the egress policy, checked at connect time), a total deadline per attempt,
header parsing that tolerates garbage, retry waits, bounded and redacted excerpts of answers, and
Standard Webhooks signatures. Nothing here knows about pipelines or runs.

It imports only the foundations; nothing here knows about pipelines or runs.
"""
