-- Fleet provisioning (issue 14, item 5): a device's last boot, as its startup event reports it.
-- The firmware it runs is device.firmware (005); the startup event updates both.

alter table device add column if not exists last_boot_at timestamptz;
