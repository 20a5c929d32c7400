-- The MQTT bridge's client ids: replica k of a bridge group connects as
-- sensorpipeline-bridge-<group>-<k>, the slot it holds here. A slot whose holder stopped
-- heartbeating is taken by the next bridge to start, which so resumes that broker session and the
-- messages queued in it. A row exists while a broker session of that slot may exist: a bridge that
-- ended its session deletes its row; one that kept it (the last member) leaves it stale.

create table if not exists mqtt_bridge_slot (
    bridge_group text not null,
    slot int not null,
    holder text not null,
    heartbeat_at timestamptz not null,
    primary key (bridge_group, slot)
);
