"""The local cloud: moto server + an event router calling the real handlers (never shipped to Lambda)."""
