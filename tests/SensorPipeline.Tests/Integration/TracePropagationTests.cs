using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Trace;
using SensorPipeline.Functions;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Integration;

/// <summary>
/// One request's W3C trace follows its readings through Kafka: the ingest activity is in it, the
/// persist batch links to it, and the realtime calibration batch links to it too.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class TracePropagationTests(TestServers servers) : IAsyncLifetime
{
    private readonly List<Activity> _exported = [];
    private TracerProvider _tracing = null!;
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(PipelineTracing.SourceNames)
            .AddInMemoryExporter(_exported)
            .Build()!;
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("trace"));
        settings["DatabaseMode"] = "Plain";
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _tracing.Dispose();
    }

    /// <summary>The exporter appends from the pipeline's threads: copy under retry.</summary>
    private Activity[] Exported()
    {
        while (true)
        {
            try
            {
                return [.. _exported];
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
            {
                Thread.Yield();
            }
        }
    }

    private async Task<Activity> WaitForAsync(Func<Activity, bool> match, string what) =>
        (await Eventually.WaitForAsync(() => Task.FromResult(Exported().FirstOrDefault(match)), a => a is not null, TimeSpan.FromSeconds(60), what))!;

    [Fact]
    public async Task Trace_of_a_request_reaches_persist_and_calibrate_through_kafka_headers()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        var readings = Enumerable.Range(0, 40).Select(i => new
        {
            sensorId = "trace-1",
            recordedAt = new DateTimeOffset(2026, 11, 3, 0, 0, 0, TimeSpan.Zero).AddMinutes(i).ToString("O", CultureInfo.InvariantCulture),
            value = 20.0 + i,
        }).ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/readings") { Content = JsonContent.Create(readings) };
        request.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01");
        Assert.Equal(HttpStatusCode.Accepted, (await _app.Http.SendAsync(request)).StatusCode);
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 40, TimeSpan.FromSeconds(60), "40 calibrated rows");

        // The ingest activity is in the caller's trace.
        var ingest = await WaitForAsync(a => a.Source.Name == "SensorPipeline.Ingest" && a.DisplayName == "IngestReadings publish" && a.TraceId == traceId, "the ingest activity in the request's trace");
        Assert.Equal(ActivityKind.Producer, ingest.Kind);

        // The persist batch is a trace of its own that links to the request's.
        var persist = await WaitForAsync(a => a.DisplayName == "PersistRawReadings process" && a.Links.Any(l => l.Context.TraceId == traceId), "a persist invocation linked to the request's trace");
        Assert.NotEqual(traceId, persist.TraceId);
        Assert.Equal("SensorPipeline.Functions.Runtime", persist.Source.Name);
        Assert.Equal(ActivityKind.Consumer, persist.Kind);
        Assert.Contains(persist.Links, l => l.Context.SpanId == ingest.SpanId);

        // Persist continues the request's trace for the calibration messages it publishes...
        var persistPublish = await WaitForAsync(a => a.DisplayName == "PersistRawReadings publish" && a.TraceId == traceId, "persist's publish activity in the request's trace");
        Assert.Contains(persistPublish.Links, l => l.Context.SpanId == persist.SpanId && l.Context.TraceId == persist.TraceId);

        // ...so the calibration batch links to the request's trace too.
        var calibrate = await WaitForAsync(a => a.DisplayName == "CalibrateRealtime process" && a.Links.Any(l => l.Context.TraceId == traceId), "a calibrate invocation linked to the request's trace");
        Assert.Contains(calibrate.Links, l => l.Context.SpanId == persistPublish.SpanId);
        Assert.Contains(Exported(), a => a.Source.Name == "SensorPipeline.Calibrate" && a.ParentSpanId == calibrate.SpanId);

        // A message produced without a traceparent starts a new trace, which calibration continues.
        var before = Exported().Length;
        var message = JsonSerializer.SerializeToUtf8Bytes(new
        {
            sensorId = "trace-untraced",
            recordedAt = "2026-11-04T00:00:00Z",
            value = 1.5,
            receivedAt = DateTimeOffset.UtcNow,
        }, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        await KafkaTestClient.ProduceAsync(servers.KafkaBootstrapServers, _app.Settings["RawTopic"]!, [("trace-untraced", message)]);
        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), n => n == 41, TimeSpan.FromSeconds(60), "the untraced reading calibrated");
        var untraced = await WaitForAsync(a => a.DisplayName == "PersistRawReadings process" && !a.Links.Any() && Exported().Skip(before).Contains(a), "a persist invocation without links");
        Assert.Equal(default(ActivitySpanId), untraced.ParentSpanId);
        await WaitForAsync(a => a.DisplayName == "CalibrateRealtime process" && a.Links.Any(l => l.Context.TraceId == untraced.TraceId), "a calibrate invocation linked to the new trace");
    }
}
