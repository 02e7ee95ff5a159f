-- What the network used beyond its online-charging grants in a cycle (credit-control
-- reports of more than was granted): charged like any usage, and kept here because
-- the records cannot tell it. JSON: {"micros": N, "units": {"<service>": N, ...}}.
ALTER TABLE cycle_usage ADD COLUMN overshoot TEXT NOT NULL DEFAULT '{}';
