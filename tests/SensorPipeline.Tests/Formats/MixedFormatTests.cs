using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MQTTnet;
using SensorPipeline.Tests.Devices;
using SensorPipeline.Tests.Infrastructure;
using static SensorPipeline.Tests.Devices.DeviceTestClient;
using static SensorPipeline.Tests.Formats.LedgerTestClient;

namespace SensorPipeline.Tests.Formats;

/// <summary>
/// The three formats side by side through HTTP and MQTT: stored exactly as sent in their units,
/// each with its payload row, calibrated to Celsius, shown by the read API, the Celsius view and
/// the rollout views.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class MixedFormatTests(TestServers servers) : IAsyncLifetime
{
    private PipelineApp _app = null!;

    public async Task InitializeAsync()
    {
        var settings = await PipelineApp.NewSettingsAsync(servers, await servers.CreateDatabaseAsync("formats"));
        RequireKeys(settings);
        _app = await PipelineApp.StartAsync(settings);
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private static readonly DateTimeOffset At = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Every reading: raw value and unit as stored, calibrated Celsius, and its payload's format, door and device.</summary>
    private const string StoredAndCalibrated = """
        select r.sensor_id, r.raw_value, r.unit, round(c.value::numeric, 3), p.format, p.door, p.device_id
          from raw_data r join calibrated_temperature c on c.raw_data_id = r.id and c.recorded_at = r.recorded_at
          join payload p on p.id = r.payload_id
         order by r.sensor_id
        """;

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Each_format_over_HTTP_is_stored_as_sent_with_its_payload_row_and_calibrated_in_Celsius()
    {
        var native = $$"""{"sensorId":"fmt-native","recordedAt":"{{Iso(At)}}","value":20.5}""";
        var legacy = $$"""{"id":4711,"t":7135,"ts":{{At.ToUnixTimeSeconds()}}}""";
        var frame = $$"""{"ts":"{{Iso(At)}}","data":"08668000FF38"}""";

        var n = await PostAsync(_app, "/api/readings", native, FunctionKey);
        var l = await PostAsync(_app, "/api/readings", legacy, FunctionKey);
        var f = await PostAsync(_app, "/api/devices/ctl-fmt/frames", frame, FunctionKey);
        Assert.Equal((202, "native", 1), (n.Status, n.Body.GetProperty("format").GetString(), n.Body.GetProperty("accepted").GetInt32()));
        Assert.Equal((202, "legacy", 1), (l.Status, l.Body.GetProperty("format").GetString(), l.Body.GetProperty("accepted").GetInt32()));
        Assert.Equal((202, "frame", 2), (f.Status, f.Body.GetProperty("format").GetString(), f.Body.GetProperty("accepted").GetInt32()));

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), c => c == 4, TimeSpan.FromSeconds(60), "4 calibrated values");

        // Raw values exactly as sent, in their units; calibrated (identity parameters) in Celsius.
        var rows = await RowsAsync(_app, StoredAndCalibrated);
        Assert.Equal(
            [
                ["ctl-fmt:ch1", "2150", "cdegC", "21.500", "frame", "http", "ctl-fmt"],
                ["ctl-fmt:ch3", "-200", "cdegC", "-2.000", "frame", "http", "ctl-fmt"],
                ["fmt-native", "20.5", "degC", "20.500", "native", "http", null],
                ["legacy-4711", "7135", "cdegF", "21.861", "legacy", "http", "legacy-4711"],
            ],
            rows);

        // One ledger row per payload: content as received, the hash of the whole, the reading count.
        var ledger = await RowsAsync(_app, "select format, decoder_version, size_bytes, sha256, convert_from(content, 'UTF8'), reading_count, accepted, source from payload order by format");
        Assert.Equal(
            [
                ["frame", "1", Encoding.UTF8.GetByteCount(frame).ToString(CultureInfo.InvariantCulture), Sha(frame), frame, "2", "True", "key"],
                ["legacy", "1", Encoding.UTF8.GetByteCount(legacy).ToString(CultureInfo.InvariantCulture), Sha(legacy), legacy, "1", "True", "key"],
                ["native", "1", Encoding.UTF8.GetByteCount(native).ToString(CultureInfo.InvariantCulture), Sha(native), native, "1", "True", "key"],
            ],
            ledger);
        Assert.Equal(0, await OrphansAsync(_app));

        // The legacy device was registered lazily, with its sensor.
        Assert.Equal(1, await _app.ScalarAsync("select count(*) from device d join device_sensor s using (device_id) where d.device_id = 'legacy-4711' and s.sensor_id = 'legacy-4711'"));

        // The Celsius view for people who query the database.
        Assert.Equal([["7135", "cdegF", "21.861"]], await RowsAsync(_app, "select raw_value, unit, round(celsius::numeric, 3) from raw_data_celsius where sensor_id = 'legacy-4711'"));

        // The read API: the raw value with its unit and the calibrated Celsius value.
        var read = await GetAsync(_app, "/api/sensors/legacy-4711/readings", FunctionKey);
        Assert.Equal(200, read.Status);
        var item = Assert.Single(read.Body.GetProperty("items").EnumerateArray());
        Assert.Equal(7135, item.GetProperty("rawValue").GetDouble());
        Assert.Equal("cdegF", item.GetProperty("unit").GetString());
        Assert.Equal(21.861111, item.GetProperty("calibratedValue").GetDouble());

        // The rollout: per format and day.
        Assert.Equal(
            [["frame", "1", "1", "2"], ["legacy", "1", "1", "1"], ["native", "0", "1", "1"]],
            await RowsAsync(_app, "select format, devices, payloads, readings from format_daily order by format"));
        var formats = await GetAsync(_app, "/api/formats?days=3660", FunctionKey);
        Assert.Equal(200, formats.Status);
        Assert.Equal(["native/1", "legacy/1", "frame/1"], formats.Body.GetProperty("decoders").EnumerateArray().Select(d => $"{d.GetProperty("name").GetString()}/{d.GetProperty("version").GetInt32()}"));
        Assert.Equal(3, formats.Body.GetProperty("daily").GetArrayLength());
    }

    [Fact]
    public async Task Each_format_over_MQTT_is_stored_as_sent_and_a_foreign_legacy_id_is_refused_into_the_error_ledger()
    {
        var controller = await EnrolAsync(_app, "ctl-mq");
        var old = await EnrolAsync(_app, "legacy-77");
        using var ctl = await MqttDoorTests.ConnectAsync(controller);
        using var legacyClient = await MqttDoorTests.ConnectAsync(old);

        var frame = await MqttDoorTests.PublishAsync(ctl, "devices/ctl-mq/frames", $$"""{"ts":"{{Iso(At)}}","data":"0866800009C4"}""");
        var native = await MqttDoorTests.PublishAsync(ctl, "devices/ctl-mq/readings", Reading("ctl-mq", At, 19.25));
        var legacy = await MqttDoorTests.PublishAsync(legacyClient, "devices/legacy-77/readings", $$"""{"id":77,"t":7135,"ts":{{At.ToUnixTimeSeconds()}}}""");
        var foreign = await MqttDoorTests.PublishAsync(legacyClient, "devices/legacy-77/readings", $$"""{"id":78,"t":7135,"ts":{{At.ToUnixTimeSeconds()}}}""");
        Assert.Equal(MqttClientPublishReasonCode.Success, frame.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.Success, native.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.Success, legacy.ReasonCode);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, foreign.ReasonCode);

        await Eventually.WaitForAsync(() => _app.ScalarAsync("select count(*) from calibrated_temperature"), c => c == 4, TimeSpan.FromSeconds(60), "4 calibrated values");
        var rows = await RowsAsync(_app, StoredAndCalibrated);
        Assert.Equal(
            [
                ["ctl-mq", "19.25", "degC", "19.250", "native", "mqtt", "ctl-mq"],
                ["ctl-mq:ch1", "2150", "cdegC", "21.500", "frame", "mqtt", "ctl-mq"],
                ["ctl-mq:ch3", "2500", "cdegC", "25.000", "frame", "mqtt", "ctl-mq"],
                ["legacy-77", "7135", "cdegF", "21.861", "legacy", "mqtt", "legacy-77"],
            ],
            rows);
        Assert.Equal(0, await OrphansAsync(_app));

        // The refused legacy payload: in the error ledger with the reason and what was sent.
        var error = await Eventually.WaitForAsync(
            () => RowsAsync(_app, "select reason, status, door, device_id, excerpt, errors->0->>'field' from ingest_error"), r => r.Count == 1, TimeSpan.FromSeconds(30), "the refusal in the error ledger");
        Assert.Equal(string.Join("|", "forbidden", "403", "mqtt", "legacy-77", $$"""{"id":78,"t":7135,"ts":{{At.ToUnixTimeSeconds()}}}""", "sensorId"), string.Join("|", error[0]));
        Assert.Equal([["legacy", "False"]], await RowsAsync(_app, "select format, accepted from payload p join ingest_error e on e.payload_id = p.id"));
    }

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
