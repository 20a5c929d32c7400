using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Http;
using SensorPipeline.Functions.Query;

namespace SensorPipeline.Functions.OperatorConsole;

/// <summary>
/// The dashboard's reads beyond the read API (function key): <c>GET /api/console/sensors</c> and
/// <c>GET /api/console/devices</c> (searched and paged on the server, with a <c>silent</c> flag
/// from a freshness threshold) and <c>GET /api/console/sensors/{sensorId}/series</c> (raw and
/// calibrated values downsampled to about <c>points</c>, with the calibration versions).
/// </summary>
public sealed class ConsoleSensors(ConsoleQueryStore store, ReadingQueryStore readings, CalibrationStore calibrations, IOptions<QueryOptions> options, TimeProvider time)
{
    /// <summary>A sensor or device with nothing newer than this (seconds) is flagged silent, unless <c>silentAfter</c> says otherwise.</summary>
    public const int DefaultSilentAfterSeconds = 300;

    /// <summary>Most items per page.</summary>
    public const int MaxPageSize = 500;

    /// <summary>Most chart entries asked for (a wide screen's pixel width, twice).</summary>
    public const int MaxPoints = 10_000;

    [Function("ConsoleSensors")]
    public Task<IResult> SensorsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "console/sensors")] HttpRequest request,
        CancellationToken cancellationToken) =>
        PageAsync(request, store.SearchSensorsAsync, (s, silent) => new
        {
            sensorId = s.SensorId,
            lastRecordedAt = s.LastRecordedAt,
            lastReceivedAt = s.LastReceivedAt,
            latestRaw = s.LatestRaw,
            latestRawUnit = s.LatestRawUnit,
            latestCalibrated = s.LatestCalibrated,
            latestCalibratedVersion = s.LatestCalibratedVersion,
            calibrationVersion = s.CalibrationVersion,
            deviceId = s.DeviceId,
            silent = silent(s.LastReceivedAt),
        }, cancellationToken);

    [Function("ConsoleDevices")]
    public Task<IResult> DevicesAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "console/devices")] HttpRequest request,
        CancellationToken cancellationToken) =>
        PageAsync(request, store.SearchDevicesAsync, (d, silent) => new
        {
            deviceId = d.DeviceId,
            displayName = d.DisplayName,
            firmware = d.Firmware,
            credentialState = d.CredentialState,
            lastSeenAt = d.LastSeenAt,
            sensors = d.Sensors,
            silent = silent(d.LastSeenAt),
        }, cancellationToken);

    /// <summary>One page of a search (<c>search</c>, <c>offset</c>, <c>limit</c>, <c>silentAfter</c>), each row with its silent flag.</summary>
    private async Task<IResult> PageAsync<TRow>(
        HttpRequest request,
        Func<string, int, int, CancellationToken, Task<ConsolePage<TRow>>> find,
        Func<TRow, Func<DateTimeOffset?, bool>, object> item,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TryPage(request, out var search, out var offset, out var limit, out var silentAfter, out var problem))
        {
            return problem;
        }

        var now = time.GetUtcNow();
        var page = await find(search, offset, limit, cancellationToken);
        return Results.Json(new
        {
            total = page.Total,
            offset,
            limit,
            silentAfterSeconds = silentAfter.TotalSeconds,
            items = page.Items.Select(row => item(row, seenAt => seenAt is not { } seen || now - seen > silentAfter)),
        });
    }

    [Function("ConsoleSensorSeries")]
    public async Task<IResult> SeriesAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "console/sensors/{sensorId}/series")] HttpRequest request,
        string sensorId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (known, latest) = await readings.FindSensorAsync(sensorId, cancellationToken);
        if (!known)
        {
            return Problems.UnknownSensor(sensorId);
        }

        DateTimeOffset from, to;
        int points;
        try
        {
            // Without from/to: the day up to the sensor's newest reading, however long ago that was.
            (from, to) = QueryParameters.TimeRange(request, time.GetUtcNow(), TimeSpan.FromDays(1), options.Value.QueryMaxRange, latest?.AddTicks(10));
            points = QueryParameters.Int(request, "points", 1000, 10, MaxPoints);
        }
        catch (QueryParameterException e)
        {
            return e.ToResult();
        }

        using var activity = PipelineTracing.Query.StartActivity("ConsoleSensorSeries");
        var series = await store.SeriesAsync(sensorId, from, to, points, cancellationToken);
        var versions = await calibrations.GetHistoryAsync(sensorId, cancellationToken);
        return Results.Json(new
        {
            sensorId,
            from,
            to,
            source = series.Source.ToString().ToLowerInvariant(),
            bucketSeconds = series.BucketSeconds,
            readings = series.Readings,
            times = series.Times,
            raw = series.Raw,
            rawMin = series.RawMin,
            rawMax = series.RawMax,
            calibrated = series.Calibrated,
            calibratedMin = series.CalibratedMin,
            calibratedMax = series.CalibratedMax,
            versions = versions.Select(v => new { version = v.Version, validFrom = v.ValidFrom, gain = v.Gain, offset = v.Offset }),
        });
    }

    private static bool TryPage(HttpRequest request, out string search, out int offset, out int limit, out TimeSpan silentAfter, out IResult problem)
    {
        search = request.Query["search"].ToString().Trim();
        offset = 0;
        limit = 0;
        silentAfter = TimeSpan.Zero;
        problem = Results.Empty;
        if (search.Length > 200)
        {
            problem = Problems.Message(StatusCodes.Status400BadRequest, "search", "'search' must be at most 200 characters.");
            return false;
        }

        try
        {
            offset = QueryParameters.Int(request, "offset", 0, 0, int.MaxValue);
            limit = QueryParameters.Int(request, "limit", 50, 1, MaxPageSize);
            silentAfter = TimeSpan.FromSeconds(QueryParameters.Int(request, "silentAfter", DefaultSilentAfterSeconds, 1, 366 * 86_400));
            return true;
        }
        catch (QueryParameterException e)
        {
            problem = e.ToResult();
            return false;
        }
    }

}
