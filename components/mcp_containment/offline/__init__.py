"""Offline: the program under Pulumi's mock runtime, and the policy pack run in process."""
