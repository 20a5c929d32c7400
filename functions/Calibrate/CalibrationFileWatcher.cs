using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Storage;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// Calibration as code (setting <c>CalibrationFile</c>): at start and whenever the file's content
/// changes, every sensor it names whose newest version differs gets a new version and its
/// recalibration, through the PUT's code path (<see cref="CalibrationChanges"/>). The file is
/// polled by content hash: a ConfigMap update swaps the mounted file through a symlink, which a
/// FileSystemWatcher does not reliably report. A file that does not parse, or an entry the API
/// would refuse, changes nothing: the reason (with its line) is logged and shown in /api/status.
/// One replica applies: the one holding a session-level PostgreSQL advisory lock (released when
/// its connection or process ends, and then taken by another).
/// </summary>
public sealed partial class CalibrationFileWatcher(
    NpgsqlDataSource dataSource,
    CalibrationStore calibrations,
    CalibrationChanges changes,
    CalibrationFileState state,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<CalibrationFileWatcher> logger) : BackgroundService
{
    /// <summary>The advisory lock key of the applying replica (any 64-bit constant unique in the app).</summary>
    private const string LeaseSql = "select pg_try_advisory_lock(hashtextextended('sensorpipeline:calibration-file', 0))";

    private const string UnlockSql = "select pg_advisory_unlock(hashtextextended('sensorpipeline:calibration-file', 0))";

    private static readonly Meter Meter = new(PipelineTelemetry.MeterName);
    private static int _refused;

    static CalibrationFileWatcher() =>
        Meter.CreateObservableGauge("sensorpipeline.calibration_file.refused", () => Volatile.Read(ref _refused), unit: "{file}",
            description: "1 while the calibration file's current content is refused (it does not parse, or an entry would be refused by the API).");

    private NpgsqlConnection? _lease;
    private string? _lastHash;

    /// <summary>The file, absolute.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(options.Value.CalibrationFile ?? throw new InvalidOperationException("CalibrationFile is not set."));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.CalibrationFilePollInterval;
        LogWatching(logger, Path, interval);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await CheckAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The database is away, say: the next poll tries again (the hash is not taken as seen).
                    LogCheckFailed(logger, Path, e.Message);
                    await DropLeaseAsync();
                }

                await Task.Delay(interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            await DropLeaseAsync();
        }
    }

    /// <summary>One poll: if this replica holds the lease and the content changed (or was never applied here), apply it.</summary>
    public async Task<CheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (!await HoldLeaseAsync(cancellationToken))
        {
            return CheckResult.NotLeader;
        }

        byte[] content;
        try
        {
            content = await File.ReadAllBytesAsync(Path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            const string missing = "missing";
            if (_lastHash != missing)
            {
                LogUnreadable(logger, Path, e.Message);
                await state.RecordRefusedAsync(Path, missing, $"Cannot read the file: {e.Message}", null, cancellationToken);
                Volatile.Write(ref _refused, 1);
                _lastHash = missing;
            }

            return CheckResult.Refused;
        }

        var hash = CalibrationFile.Hash(content);
        if (hash == _lastHash)
        {
            return CheckResult.Unchanged;
        }

        var (entries, refusal) = CalibrationFile.Parse(CalibrationFile.Text(content));
        if (entries is null)
        {
            LogRefused(logger, Path, refusal!.ToString());
            await state.RecordRefusedAsync(Path, hash, refusal.Reason, refusal.Line, cancellationToken);
            Volatile.Write(ref _refused, 1);
            _lastHash = hash;
            return CheckResult.Refused;
        }

        var added = await ApplyAsync(entries, cancellationToken);
        await state.RecordAppliedAsync(Path, hash, entries.Select(e => e.SensorId).ToArray(), added, cancellationToken);
        Volatile.Write(ref _refused, 0);
        LogApplied(logger, Path, entries.Count, added);
        _lastHash = hash;
        return CheckResult.Applied;
    }

    /// <summary>A new version for each sensor whose newest version differs from its entry; returns how many.</summary>
    private async Task<int> ApplyAsync(IReadOnlyList<CalibrationFile.Entry> entries, CancellationToken cancellationToken)
    {
        var versions = await calibrations.LoadVersionsAsync(entries.Select(e => e.SensorId), cancellationToken);
        var now = time.GetUtcNow();
        var added = 0;
        foreach (var entry in entries)
        {
            var newest = versions.TryGetValue(entry.SensorId, out var list) ? list.MaxBy(v => v.Version) : null;
            if (newest is not null && newest.Gain.Equals(entry.Gain) && newest.Offset.Equals(entry.Offset) &&
                (entry.ValidFrom is null || newest.ValidFrom == entry.ValidFrom))
            {
                continue;
            }

            var (version, job) = await changes.AddAsync(entry.SensorId, new CalibrationInput(entry.Gain, entry.Offset, entry.ValidFrom ?? now), cancellationToken);
            LogVersionAdded(logger, entry.SensorId, version.Version, entry.Line, version.Gain, version.Offset, version.ValidFrom, job?.Id);
            added++;
        }

        return added;
    }

    /// <summary>True while this replica holds the lease (taken now if free).</summary>
    private async Task<bool> HoldLeaseAsync(CancellationToken cancellationToken)
    {
        if (_lease is { } held)
        {
            try
            {
                await using var alive = new NpgsqlCommand("select 1", held);
                await alive.ExecuteScalarAsync(cancellationToken);
                return true;
            }
            catch (NpgsqlException)
            {
                // The connection (and so the lock) is gone: another replica may hold it now.
                await DropLeaseAsync();
                _lastHash = null;
            }
        }

        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var take = new NpgsqlCommand(LeaseSql, connection);
            if (await take.ExecuteScalarAsync(cancellationToken) is true)
            {
                _lease = connection;
                LogLeaseTaken(logger, Path);
                return true;
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return false;
    }

    private async Task DropLeaseAsync()
    {
        if (_lease is { } lease)
        {
            _lease = null;
            // A pooled connection's session outlives its Dispose: unlock explicitly (a broken
            // connection's session, and its lock, ended with it).
            try
            {
                await using var unlock = new NpgsqlCommand(UnlockSql, lease);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // Gone already.
            }

            await lease.DisposeAsync();
        }
    }

    public enum CheckResult
    {
        NotLeader,
        Unchanged,
        Applied,
        Refused,
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Calibration file {Path}: checked every {Interval}")]
    private static partial void LogWatching(ILogger logger, string path, TimeSpan interval);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "Calibration file {Path}: this replica applies it (holds the lease)")]
    private static partial void LogLeaseTaken(ILogger logger, string path);

    [LoggerMessage(EventId = 602, Level = LogLevel.Error, Message = "Calibration file {Path} refused, nothing changed: {Refusal}")]
    private static partial void LogRefused(ILogger logger, string path, string refusal);

    [LoggerMessage(EventId = 603, Level = LogLevel.Error, Message = "Calibration file {Path} cannot be read, nothing changed: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 604, Level = LogLevel.Information, Message = "Calibration file: {SensorId} (line {Line}) version {Version}: gain {Gain}, offset {Offset}, valid from {ValidFrom:O}; recalibration job {JobId}")]
    private static partial void LogVersionAdded(ILogger logger, string sensorId, int version, int line, double gain, double offset, DateTimeOffset validFrom, long? jobId);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "Calibration file {Path} applied: {Sensors} sensor(s), {Added} new version(s)")]
    private static partial void LogApplied(ILogger logger, string path, int sensors, int added);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "Calibration file {Path}: check failed, trying again at the next poll: {Reason}")]
    private static partial void LogCheckFailed(ILogger logger, string path, string reason);
}
