using System.Globalization;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Storage;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Functions.Http;
using SensorPipeline.Runtime.Hosting;

namespace SensorPipeline.Functions.Query;

/// <summary>
/// The read API over readings (function key): <c>GET /api/sensors</c>,
/// <c>GET /api/sensors/{sensorId}/readings</c> (keyset paging) and
/// <c>GET /api/sensors/{sensorId}/rollups</c> (hourly or daily count, min, max, avg).
/// </summary>
public sealed class SensorQueries(ReadingQueryStore store, IOptions<QueryOptions> options, IOptions<FunctionsHostOptions> host, TimeProvider time)
{
    [Function("ListSensors")]
    public async Task<IResult> ListSensorsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "sensors")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var activity = PipelineTracing.Query.StartActivity("ListSensors");
        var sensors = await store.ListSensorsAsync(cancellationToken);
        return Results.Json(new SensorsBody(sensors.Select(s => new SensorItem(
            s.SensorId,
            s.Readings,
            s.CalibrationVersion,
            s.Latest is { } l ? new LatestItem(l.Value, l.RecordedAt, l.CalibrationVersion) : null)).ToList()));
    }

    [Function("GetSensorReadings")]
    public async Task<IResult> ReadingsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "sensors/{sensorId}/readings")] HttpRequest request,
        string sensorId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (known, latest) = await store.FindSensorAsync(sensorId, cancellationToken);
        if (!known)
        {
            return Problems.UnknownSensor(sensorId);
        }

        DateTimeOffset from, to;
        int limit;
        DateTimeOffset? after;
        try
        {
            // Without from/to: the day up to and including the sensor's newest reading (1 µs, the
            // database's resolution, past it), however long ago that was.
            (from, to) = QueryParameters.TimeRange(request, time.GetUtcNow(), TimeSpan.FromDays(1), options.Value.QueryMaxRange, latest?.AddTicks(10));
            limit = QueryParameters.Int(request, "limit", QueryOptions.DefaultLimit, 1, QueryOptions.MaxLimit);
            after = QueryParameters.Cursor(request, "after");
        }
        catch (QueryParameterException e)
        {
            return e.ToResult();
        }

        using var activity = PipelineTracing.Query.StartActivity("GetSensorReadings");
        // One row more than asked for tells whether there is a next page.
        var rows = await store.ReadingsAsync(sensorId, from, to, after, limit + 1, cancellationToken);
        string? next = null;
        if (rows.Count > limit)
        {
            rows = rows.Take(limit).ToList();
            var prefix = host.Value.Http.RoutePrefix.Trim('/');
            next = string.Create(CultureInfo.InvariantCulture,
                $"{(prefix.Length > 0 ? "/" + prefix : "")}/sensors/{Uri.EscapeDataString(sensorId)}/readings?from={Uri.EscapeDataString(QueryParameters.Format(from))}&to={Uri.EscapeDataString(QueryParameters.Format(to))}&limit={limit}&after={QueryParameters.EncodeCursor(rows[^1].RecordedAt)}");
        }

        return Results.Json(new ReadingsBody(rows, next));
    }

    [Function("GetSensorRollups")]
    public async Task<IResult> RollupsAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "sensors/{sensorId}/rollups")] HttpRequest request,
        string sensorId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (known, latest) = await store.FindSensorAsync(sensorId, cancellationToken);
        if (!known)
        {
            return Problems.UnknownSensor(sensorId);
        }

        string bucketText = request.Query["bucket"].ToString() is { Length: > 0 } b ? b : "1h";
        RollupBucket bucket;
        DateTimeOffset from, to;
        try
        {
            bucket = bucketText switch
            {
                "1h" => RollupBucket.Hour,
                "1d" => RollupBucket.Day,
                _ => throw new QueryParameterException("bucket", $"'bucket' must be 1h or 1d; got '{(bucketText.Length > 16 ? bucketText[..16] : bucketText)}'."),
            };
            var defaultSpan = bucket == RollupBucket.Hour ? TimeSpan.FromDays(1) : TimeSpan.FromDays(30);
            // Without from/to: the buckets up to and including the one of the sensor's newest reading.
            (from, to) = QueryParameters.TimeRange(request, time.GetUtcNow(), defaultSpan, options.Value.QueryMaxRange, latest is { } l ? BucketEnd(l, bucket) : null);
        }
        catch (QueryParameterException e)
        {
            return e.ToResult();
        }

        using var activity = PipelineTracing.Query.StartActivity("GetSensorRollups");
        var rows = await store.RollupsAsync(sensorId, bucket, from, to, cancellationToken);
        return Results.Json(new RollupsBody(
            sensorId, bucketText, from, to,
            rows.Select(r => new RollupItem(r.Bucket, r.Readings, r.Min, r.Max, r.Avg)).ToList()));
    }

    /// <summary>The end (exclusive) of the UTC hour or day that holds <paramref name="time"/>.</summary>
    public static DateTimeOffset BucketEnd(DateTimeOffset time, RollupBucket bucket)
    {
        var utc = time.UtcDateTime;
        var start = bucket == RollupBucket.Hour
            ? new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc)
            : utc.Date;
        return new DateTimeOffset(start, TimeSpan.Zero) + (bucket == RollupBucket.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1));
    }

    public sealed record SensorsBody(IReadOnlyList<SensorItem> Items);

    public sealed record SensorItem(string SensorId, long Readings, int CalibrationVersion, LatestItem? Latest);

    public sealed record LatestItem(double Value, DateTimeOffset RecordedAt, int CalibrationVersion);

    /// <summary>A page of a sensor's readings; each item is the store's row as it is.</summary>
    public sealed record ReadingsBody(IReadOnlyList<ReadingRow> Items, string? Next);

    public sealed record RollupsBody(string SensorId, string Bucket, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<RollupItem> Items);

    public sealed record RollupItem(DateTimeOffset Bucket, long Readings, double Min, double Max, double Avg);
}
