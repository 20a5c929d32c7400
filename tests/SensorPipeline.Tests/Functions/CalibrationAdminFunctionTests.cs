using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions;
using SensorPipeline.Functions.Calibrate;
using SensorPipeline.Tests.Infrastructure;

namespace SensorPipeline.Tests.Functions;

/// <summary>
/// HTTP functions tested the way isolated-worker users test theirs: the function class built by
/// hand, its method called with a <see cref="DefaultHttpContext"/>'s request, the returned result
/// executed into that context's response. No server, no host; a real database behind the stores.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class CalibrationAdminFunctionTests(TestServers servers) : IAsyncLifetime
{
    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        _db = NpgsqlDataSource.Create(await servers.CreateDatabaseAsync("admin_fn"));
        await new Migrator(_db).MigrateAsync(null, CancellationToken.None);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private CalibrationAdmin Function() =>
        new(new CalibrationStore(_db), new RecalibrationStore(_db),
            new CalibrationChanges(new CalibrationStore(_db), new RecalibrationStore(_db), Options.Create(new PipelineOptions()), TimeProvider.System),
            new CalibrationFileState(_db), TimeProvider.System);

    private static HttpRequest Request(string? json = null, string contentType = "application/json")
    {
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider(),
        };
        context.Response.Body = new MemoryStream();
        if (json is not null)
        {
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
            context.Request.ContentType = contentType;
            context.Request.ContentLength = Encoding.UTF8.GetByteCount(json);
        }

        return context.Request;
    }

    private static async Task<(int Status, JsonElement Body)> ExecuteAsync(IResult result, HttpRequest request)
    {
        await result.ExecuteAsync(request.HttpContext);
        var response = request.HttpContext.Response;
        response.Body.Position = 0;
        using var document = await JsonDocument.ParseAsync(response.Body);
        return (response.StatusCode, document.RootElement.Clone());
    }

    [Fact]
    public async Task PutCalibration_stores_a_version_and_GetCalibration_lists_it()
    {
        var put = Request("""{"gain": 0.98, "offset": 2.5, "validFrom": "2026-01-01T00:00:00Z"}""");
        var (status, body) = await ExecuteAsync(await Function().PutAsync(put, "unit-fn-1", CancellationToken.None), put);

        Assert.Equal(StatusCodes.Status201Created, status);
        Assert.Equal(1, body.GetProperty("version").GetProperty("version").GetInt32());

        var get = Request();
        var (getStatus, history) = await ExecuteAsync(await Function().GetAsync(get, "unit-fn-1", CancellationToken.None), get);
        Assert.Equal(StatusCodes.Status200OK, getStatus);
        var version = Assert.Single(history.GetProperty("versions").EnumerateArray());
        Assert.Equal(0.98, version.GetProperty("gain").GetDouble());
    }

    [Fact]
    public async Task PutCalibration_with_an_invalid_sensor_id_is_a_400_and_stores_nothing()
    {
        var put = Request("""{"gain": 1, "offset": 0}""");
        var (status, _) = await ExecuteAsync(await Function().PutAsync(put, "not a sensor!", CancellationToken.None), put);

        Assert.Equal(StatusCodes.Status400BadRequest, status);
        await using var count = _db.CreateCommand("select count(*) from calibration");
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task PutCalibration_without_json_content_type_is_a_415()
    {
        var put = Request("gain=1", contentType: "application/x-www-form-urlencoded");
        var (status, _) = await ExecuteAsync(await Function().PutAsync(put, "unit-fn-2", CancellationToken.None), put);

        Assert.Equal(StatusCodes.Status415UnsupportedMediaType, status);
    }

    [Fact]
    public async Task PutCalibration_for_a_sensor_the_calibration_file_manages_is_stored_and_says_the_file_wins()
    {
        await new CalibrationFileState(_db).RecordAppliedAsync("/etc/calibration/calibration.yaml", "abc", ["unit-fn-managed"], 1, CancellationToken.None);

        var managed = Request("""{"gain": 1.5, "offset": 0, "validFrom": "2026-01-01T00:00:00Z"}""");
        var (status, body) = await ExecuteAsync(await Function().PutAsync(managed, "unit-fn-managed", CancellationToken.None), managed);
        Assert.Equal(StatusCodes.Status201Created, status);
        Assert.Equal(1, body.GetProperty("version").GetProperty("version").GetInt32());
        var by = body.GetProperty("managedBy");
        Assert.Equal("/etc/calibration/calibration.yaml", by.GetProperty("calibrationFile").GetString());
        Assert.Contains("managed by the calibration file", by.GetProperty("message").GetString(), StringComparison.Ordinal);

        var other = Request("""{"gain": 1.5, "offset": 0, "validFrom": "2026-01-01T00:00:00Z"}""");
        var (_, otherBody) = await ExecuteAsync(await Function().PutAsync(other, "unit-fn-unmanaged", CancellationToken.None), other);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, otherBody.GetProperty("managedBy").ValueKind);
    }

    [Fact]
    public async Task StartRecalibration_with_the_same_requestId_finds_the_job_it_started()
    {
        const string body = """{"sensorId": "unit-fn-req", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "requestId": "recalibrate-jan-0a1b2c3d"}""";
        var first = Request(body);
        var (firstStatus, firstJob) = await ExecuteAsync(await Function().StartAsync(first, CancellationToken.None), first);
        Assert.Equal(StatusCodes.Status202Accepted, firstStatus);

        var again = Request(body);
        var (againStatus, againJob) = await ExecuteAsync(await Function().StartAsync(again, CancellationToken.None), again);
        Assert.Equal(StatusCodes.Status200OK, againStatus);
        Assert.Equal(firstJob.GetProperty("id").GetInt64(), againJob.GetProperty("id").GetInt64());

        var otherRange = Request(body.Replace("2026-02-01", "2026-03-01", StringComparison.Ordinal));
        var (conflict, problem) = await ExecuteAsync(await Function().StartAsync(otherRange, CancellationToken.None), otherRange);
        Assert.Equal(StatusCodes.Status409Conflict, conflict);
        Assert.Contains("requestId", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var withoutId = Request("""{"sensorId": "unit-fn-req", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}""");
        var (newStatus, newJob) = await ExecuteAsync(await Function().StartAsync(withoutId, CancellationToken.None), withoutId);
        Assert.Equal(StatusCodes.Status202Accepted, newStatus);
        Assert.NotEqual(firstJob.GetProperty("id").GetInt64(), newJob.GetProperty("id").GetInt64());

        await using var count = _db.CreateCommand("select count(*) from recalibration_job where sensor_id = 'unit-fn-req'");
        Assert.Equal(2L, await count.ExecuteScalarAsync());

        var bad = Request("""{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "requestId": "not ok!"}""");
        var (badStatus, _) = await ExecuteAsync(await Function().StartAsync(bad, CancellationToken.None), bad);
        Assert.Equal(StatusCodes.Status400BadRequest, badStatus);
    }
}
