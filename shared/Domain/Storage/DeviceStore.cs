using Npgsql;
using NpgsqlTypes;

namespace SensorPipeline.Domain.Storage;

/// <summary>The device registry: devices, their credential state, and the sensors they report.</summary>
public sealed class DeviceStore(NpgsqlDataSource dataSource)
{
    private const string Columns = """
        device_id, hardware_id, display_name, firmware, created_at, last_seen_at, credential_state,
        credential_generation, certificate_serial, certificate_thumbprint, certificate_not_after, revoked_at, last_boot_at
        """;

    /// <summary>
    /// Starts a new credential generation for a device, creating it when unknown: the device's
    /// next generation, unless its credentials are active (then null: revoke them first).
    /// </summary>
    public async Task<Device?> BeginEnrolmentAsync(string deviceId, string? displayName, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            insert into device (device_id, hardware_id, display_name, credential_state, credential_generation)
            values ($1, $1, $2, 'none', 1)
            on conflict (device_id) do update
               set credential_generation = device.credential_generation + 1,
                   display_name = coalesce(excluded.display_name, device.display_name)
             where device.credential_state <> 'active'
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)displayName ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        return await ReadOneAsync(command, cancellationToken);
    }

    /// <summary>
    /// A device's startup event (fleet provisioning): creates the device when unknown (credential
    /// state none, generation 1) and records its firmware and boot time. Null when the hardware id is
    /// already another device's.
    /// </summary>
    public async Task<Device?> RecordStartupAsync(string deviceId, string hardwareId, string? firmware, CancellationToken cancellationToken)
    {
        // Two first startups of one device at once: the second insert can fail on the hardware_id
        // index (not the conflict target) once the first commits; again, it takes the update path.
        for (var attempt = 1; ; attempt++)
        {
            await using var command = dataSource.CreateCommand($"""
                insert into device (device_id, hardware_id, firmware, last_boot_at, credential_state, credential_generation)
                values ($1, $2, $3, now(), 'none', 1)
                on conflict (device_id) do update
                   set firmware = coalesce(excluded.firmware, device.firmware), last_boot_at = now()
                returning {Columns}
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
            command.Parameters.Add(new NpgsqlParameter { Value = hardwareId });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)firmware ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            try
            {
                return await ReadOneAsync(command, cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && attempt >= 3)
            {
                return null;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                // Retried.
            }
        }
    }

    /// <summary>
    /// Records the issued certificate and makes the generation's credentials active; with
    /// <paramref name="onlyIfNeverIssued"/> only while the device's state is still none (so of two
    /// concurrent provisionings exactly one wins).
    /// </summary>
    public async Task<Device?> ActivateAsync(string deviceId, int generation, string serial, string thumbprint, DateTimeOffset notAfter, bool onlyIfNeverIssued, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            update device set credential_state = 'active', certificate_serial = $3, certificate_thumbprint = $4,
                   certificate_not_after = $5, revoked_at = null
             where device_id = $1 and credential_generation = $2 {(onlyIfNeverIssued ? "and credential_state = 'none'" : "")}
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        command.Parameters.Add(new NpgsqlParameter { Value = generation });
        command.Parameters.Add(new NpgsqlParameter { Value = serial });
        command.Parameters.Add(new NpgsqlParameter { Value = thumbprint });
        command.Parameters.Add(new NpgsqlParameter { Value = notAfter.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await ReadOneAsync(command, cancellationToken);
    }

    /// <summary>Revokes a device's credentials; null when the device is unknown.</summary>
    public async Task<Device?> RevokeAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            update device set credential_state = 'revoked', revoked_at = coalesce(revoked_at, now())
             where device_id = $1
            returning {Columns}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<Device?> GetAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from device where device_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        return await ReadOneAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<Device>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"select {Columns} from device order by device_id limit $1");
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var devices = new List<Device>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            devices.Add(Read(reader));
        }

        return devices;
    }

    public async Task<IReadOnlyList<DeviceSensor>> SensorsAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select sensor_id, first_seen_at, last_seen_at from device_sensor where device_id = $1 order by sensor_id");
        command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        var sensors = new List<DeviceSensor>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            sensors.Add(new DeviceSensor(reader.GetString(0), Utc(reader.GetDateTime(1)), Utc(reader.GetDateTime(2))));
        }

        return sensors;
    }

    /// <summary>
    /// A device was seen with these sensors: its last_seen moves, unknown sensors are registered to
    /// it (a sensor already someone else's stays theirs), known ones get a new last_seen.
    /// </summary>
    public async Task RecordSeenAsync(string deviceId, IReadOnlyCollection<string> sensorIds, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        var seen = new NpgsqlBatchCommand("update device set last_seen_at = now() where device_id = $1");
        seen.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        batch.BatchCommands.Add(seen);
        var sensors = new NpgsqlBatchCommand("""
            insert into device_sensor (sensor_id, device_id)
            select s, $1 from unnest($2::text[]) as s
            on conflict (sensor_id) do update set last_seen_at = now() where device_sensor.device_id = excluded.device_id
            """);
        sensors.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        sensors.Parameters.Add(new NpgsqlParameter { Value = sensorIds.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        batch.BatchCommands.Add(sensors);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Registers a device that has no credentials and never enrols (a legacy device, known by the
    /// numeric id in its payloads), unless it is registered already; then as <see cref="RecordSeenAsync"/>.
    /// </summary>
    public async Task RecordLegacySeenAsync(string deviceId, IReadOnlyCollection<string> sensorIds, CancellationToken cancellationToken)
    {
        await using (var command = dataSource.CreateCommand("""
            insert into device (device_id, hardware_id, display_name) values ($1, $1, 'legacy firmware')
            on conflict do nothing
            """))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = deviceId });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await RecordSeenAsync(deviceId, sensorIds, cancellationToken);
    }

    private static async Task<Device?> ReadOneAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static Device Read(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
        Utc(r.GetDateTime(4)), r.IsDBNull(5) ? null : Utc(r.GetDateTime(5)), r.GetString(6), r.GetInt32(7),
        r.IsDBNull(8) ? null : r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9),
        r.IsDBNull(10) ? null : Utc(r.GetDateTime(10)), r.IsDBNull(11) ? null : Utc(r.GetDateTime(11)),
        r.IsDBNull(12) ? null : Utc(r.GetDateTime(12)));

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
