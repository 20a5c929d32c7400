using System.Text.Json;

namespace SensorPipeline.Tests.Functions;

/// <summary>
/// The Worker SDK's build output, as the official Functions host reads it: functions.metadata
/// lists every function with the bindings its attributes declare, and worker.config.json starts
/// this program as an isolated worker.
/// </summary>
public sealed class FunctionsMetadataTests
{
    private static readonly Lazy<Dictionary<string, JsonElement[]>> Metadata = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: the functions project's build (Worker SDK) writes it");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().Select(b => b.Clone()).ToArray());
    });

    private static JsonElement Trigger(string function) =>
        Assert.Single(Metadata.Value[function], b => b.GetProperty("direction").GetString() == "In");

    private static string? Text(JsonElement binding, string property) =>
        binding.TryGetProperty(property, out var value) ? value.GetString() : null;

    [Fact]
    public void Metadata_lists_every_function_of_the_app_and_nothing_else()
    {
        string[] expected =
        [
            "CalibrateHistorical", "CalibrateRealtime", "CancelRecalibration", "ConsoleDevices", "ConsolePages", "ConsoleSensorSeries",
            "ConsoleSensors", "DeviceStartup", "EnrolDevice", "GetCalibration", "GetDevice", "GetFormats", "GetPipelineView", "GetRecalibration",
            "GetSensorReadings", "GetSensorRollups", "GetStatus", "IngestFrames", "IngestReadings", "ListDeadLetters", "ListDevices",
            "ListIngestErrors", "ListSensors", "PayloadLedgerRetention", "PersistRawReadings", "PutCalibration", "RecalibrationProducer",
            "ReconcileUncalibrated", "ReplayDeadLetters", "ReplayIngestError", "RevokeDeviceCredentials", "StartRecalibration",
        ];

        Assert.Equal(expected, Metadata.Value.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("PersistRawReadings", "%RawTopic%", "%PersistRawGroup%")]
    [InlineData("CalibrateRealtime", "%RealtimeTopic%", "%RealtimeGroup%")]
    [InlineData("CalibrateHistorical", "%HistoricalTopic%", "%HistoricalGroup%")]
    public void Kafka_functions_have_a_batched_kafkaTrigger_on_their_topic_and_group(string function, string topic, string group)
    {
        var trigger = Trigger(function);

        Assert.Equal("kafkaTrigger", Text(trigger, "type"));
        Assert.Equal("%KafkaBrokerList%", Text(trigger, "brokerList"));
        Assert.Equal(topic, Text(trigger, "topic"));
        Assert.Equal(group, Text(trigger, "consumerGroup"));
        Assert.Equal("Many", Text(trigger, "cardinality"));
        Assert.Single(Metadata.Value[function]);
    }

    [Theory]
    // Anonymous to the host: the function itself requires a function key or a device signature.
    [InlineData("IngestReadings", "post", "readings", "Anonymous")]
    [InlineData("IngestFrames", "post", "devices/{deviceId}/frames", "Anonymous")]
    [InlineData("ListIngestErrors", "get", "ingest-errors", "Function")]
    [InlineData("ReplayIngestError", "post", "ingest-errors/{id:long}/replay", "Admin")]
    [InlineData("GetFormats", "get", "formats", "Function")]
    // Anonymous to the host: signed with the fleet provisioning secret, checked by the function.
    [InlineData("DeviceStartup", "post", "devices/startup", "Anonymous")]
    [InlineData("EnrolDevice", "post", "devices", "Admin")]
    [InlineData("ListDevices", "get", "devices", "Admin")]
    [InlineData("GetDevice", "get", "devices/{deviceId}", "Admin")]
    [InlineData("RevokeDeviceCredentials", "delete", "devices/{deviceId}/credentials", "Admin")]
    [InlineData("ListSensors", "get", "sensors", "Function")]
    [InlineData("GetSensorReadings", "get", "sensors/{sensorId}/readings", "Function")]
    [InlineData("GetSensorRollups", "get", "sensors/{sensorId}/rollups", "Function")]
    [InlineData("GetStatus", "get", "status", "Function")]
    [InlineData("PutCalibration", "put", "sensors/{sensorId}/calibration", "Admin")]
    [InlineData("GetCalibration", "get", "sensors/{sensorId}/calibration", "Function")]
    [InlineData("StartRecalibration", "post", "recalibrations", "Admin")]
    [InlineData("GetRecalibration", "get", "recalibrations/{id:long}", "Function")]
    [InlineData("CancelRecalibration", "delete", "recalibrations/{id:long}", "Admin")]
    [InlineData("ListDeadLetters", "get", "deadletters", "Admin")]
    [InlineData("ReplayDeadLetters", "post", "deadletters/replay", "Admin")]
    // Anonymous: the dashboard's files hold no data; its API calls carry the key.
    [InlineData("ConsolePages", "get", "dashboard/{*file}", "Anonymous")]
    [InlineData("ConsoleSensors", "get", "console/sensors", "Function")]
    [InlineData("ConsoleDevices", "get", "console/devices", "Function")]
    [InlineData("ConsoleSensorSeries", "get", "console/sensors/{sensorId}/series", "Function")]
    public void Http_functions_have_their_route_method_and_auth_level(string function, string method, string route, string authLevel)
    {
        var trigger = Trigger(function);

        Assert.Equal("httpTrigger", Text(trigger, "type"));
        Assert.Equal([method], trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(route, Text(trigger, "route"));
        Assert.Equal(authLevel, Text(trigger, "authLevel"));
        var output = Assert.Single(Metadata.Value[function], b => b.GetProperty("direction").GetString() == "Out");
        Assert.Equal("http", Text(output, "type"));
        Assert.Equal("$return", Text(output, "name"));
    }

    [Theory]
    [InlineData("ReconcileUncalibrated", "%ReconcileSchedule%")]
    [InlineData("RecalibrationProducer", "%RecalibrationSchedule%")]
    [InlineData("PayloadLedgerRetention", "%PayloadRetentionSchedule%")]
    public void Timer_functions_have_their_schedule_setting(string function, string schedule)
    {
        var trigger = Trigger(function);

        Assert.Equal("timerTrigger", Text(trigger, "type"));
        Assert.Equal(schedule, Text(trigger, "schedule"));
    }

    [Fact]
    public void Worker_config_starts_this_assembly_as_a_dotnet_isolated_worker()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "worker.config.json")));
        var description = config.RootElement.GetProperty("description");

        Assert.Equal("dotnet-isolated", description.GetProperty("language").GetString());
        Assert.Equal("SensorPipeline.Functions.dll", description.GetProperty("defaultWorkerPath").GetString());
    }

    [Fact]
    public void Every_function_the_portable_host_discovers_is_in_the_metadata_with_the_same_trigger()
    {
        var discovered = SensorPipeline.Runtime.Hosting.FunctionCatalog.Discover([typeof(SensorPipeline.Functions.Hosting.SensorPipelineApp).Assembly]);

        Assert.Equal(Metadata.Value.Keys.Order(StringComparer.Ordinal), discovered.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(discovered, f => Assert.Equal(f.TriggerBindingType, Text(Trigger(f.Name), "type")));
    }

    [Fact]
    public void Program_started_by_a_functions_host_runs_the_worker_not_the_cli()
    {
        Assert.True(SensorPipeline.Functions.Hosting.WorkerHost.IsStartedByFunctionsHost(
            ["--functions-uri", "http://127.0.0.1:1", "--functions-worker-id", "w", "--functions-request-id", "r"]));
        Assert.False(SensorPipeline.Functions.Hosting.WorkerHost.IsStartedByFunctionsHost(["start", "--port", "7071"]));
    }

    [Fact]
    public async Task Program_started_with_functions_uri_connects_to_that_host_over_grpc()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "SensorPipeline.Functions.dll"), "--functions-uri", $"http://127.0.0.1:{port}", "--functions-worker-id", "w", "--functions-request-id", "r" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["KafkaBrokerList"] = "127.0.0.1:9",
                ["TimescaleConnection"] = "Host=127.0.0.1;Port=9;Username=nobody",
            },
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var client = await listener.AcceptTcpClientAsync(timeout.Token);
            var preface = new byte[24];
            await client.GetStream().ReadExactlyAsync(preface, timeout.Token);

            // An HTTP/2 client preface: the worker's gRPC channel to the host, not our CLI.
            Assert.Equal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", System.Text.Encoding.ASCII.GetString(preface));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
