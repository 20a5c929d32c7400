using SensorPipeline.Domain.Calibration;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Storage;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Functions.Http;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// Calibration parameters and recalibration jobs over HTTP. Storing a version never edits one; it
/// starts a job that recalculates every reading the version affects.
/// </summary>
public sealed class CalibrationAdmin(CalibrationStore calibrations, RecalibrationStore jobs, CalibrationChanges changes, CalibrationFileState fileState, TimeProvider time)
{
    [Function("PutCalibration")]
    public async Task<IResult> PutAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "put", Route = "sensors/{sensorId}/calibration")] HttpRequest request,
        string sensorId,
        CancellationToken cancellationToken)
    {
        if (!ReadingRequestParser.IsValidSensorId(sensorId))
        {
            return Error(StatusCodes.Status400BadRequest, "sensorId", ReadingRequestParser.SensorIdRule);
        }

        using var body = await JsonBody.ReadAsync(request, cancellationToken);
        if (body is null)
        {
            return Error(StatusCodes.Status415UnsupportedMediaType, null, "Content-Type must be application/json.");
        }

        var (input, errors) = CalibrationInput.Parse(body.Memory);
        if (input is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, errors);
        }

        var (version, job) = await changes.AddAsync(sensorId, input, cancellationToken);
        // The calibration file wins for the sensors it names: say so (the version is stored all the same).
        var managed = await fileState.ManagedByAsync(sensorId, cancellationToken);
        return Results.Json(
            new
            {
                version = View(version),
                recalibration = job is null ? null : await ViewAsync(job, cancellationToken),
                managedBy = managed is null ? null : new
                {
                    calibrationFile = managed,
                    message = $"{sensorId} is managed by the calibration file {managed}: its parameters there are applied again, as a new version, when the file changes or the app starts.",
                },
            },
            statusCode: StatusCodes.Status201Created);
    }

    [Function("GetCalibration")]
    public async Task<IResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "sensors/{sensorId}/calibration")] HttpRequest request,
        string sensorId,
        CancellationToken cancellationToken)
    {
        if (!ReadingRequestParser.IsValidSensorId(sensorId))
        {
            return Error(StatusCodes.Status400BadRequest, "sensorId", ReadingRequestParser.SensorIdRule);
        }

        var history = await calibrations.GetHistoryAsync(sensorId, cancellationToken);
        return Results.Json(new { sensorId, versions = history.Select(View) });
    }

    [Function("StartRecalibration")]
    public async Task<IResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "recalibrations")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        using var body = await JsonBody.ReadAsync(request, cancellationToken);
        if (body is null)
        {
            return Error(StatusCodes.Status415UnsupportedMediaType, null, "Content-Type must be application/json.");
        }

        var (input, errors) = RecalibrationInput.Parse(body.Memory);
        if (input is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, errors);
        }

        if (input.RequestId is null)
        {
            var job = await jobs.CreateAsync(input.SensorId, input.From, input.To, "requested", null, cancellationToken);
            return Results.Json(await ViewAsync(job, cancellationToken), statusCode: StatusCodes.Status202Accepted);
        }

        // Idempotent: the same requestId finds the job it created (200), whatever its state now.
        var (existing, created) = await jobs.CreateOrFindAsync(input.RequestId, input.SensorId, input.From, input.To, $"requested ({input.RequestId})", cancellationToken);
        if (!created && (existing.SensorId != input.SensorId || existing.From != input.From || existing.To != input.To))
        {
            return Error(StatusCodes.Status409Conflict, "requestId",
                $"Request {input.RequestId} already started job {existing.Id} for another range or sensor; use a new requestId.");
        }

        return Results.Json(await ViewAsync(existing, cancellationToken), statusCode: created ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    [Function("GetRecalibration")]
    public async Task<IResult> GetJobAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "recalibrations/{id:long}")] HttpRequest request,
        long id,
        CancellationToken cancellationToken) =>
        await jobs.GetAsync(id, cancellationToken) is { } job
            ? Results.Json(await ViewAsync(job, cancellationToken, request))
            : Error(StatusCodes.Status404NotFound, "id", $"No recalibration job {id}.");

    [Function("CancelRecalibration")]
    public async Task<IResult> CancelAsync(
        [HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "recalibrations/{id:long}")] HttpRequest request,
        long id,
        CancellationToken cancellationToken)
    {
        if (await jobs.CancelAsync(id, cancellationToken))
        {
            return Results.Json(await ViewAsync((await jobs.GetAsync(id, cancellationToken))!, cancellationToken));
        }

        return await jobs.GetAsync(id, cancellationToken) is { } job
            ? Error(StatusCodes.Status409Conflict, "id", $"Recalibration job {id} is already {job.State}.")
            : Error(StatusCodes.Status404NotFound, "id", $"No recalibration job {id}.");
    }

    /// <summary>
    /// A job with its live progress, coherent at every moment: <c>total</c> is the readings in the
    /// job's range now (readings stored after the job was created count too), <c>calibrated</c>
    /// those recalculated since it started (by the job or, for new readings, by realtime
    /// calibration), <c>remaining</c> the rest; calibrated + remaining = total, percent from them.
    /// An active job with nothing remaining is completed here and now.
    /// </summary>
    private async Task<object> ViewAsync(RecalibrationJob job, CancellationToken cancellationToken, HttpRequest? request = null)
    {
        var (calibrated, remaining) = await jobs.CountProgressAsync(job, cancellationToken);
        if (job.State is RecalibrationJob.Running or RecalibrationJob.Draining && remaining == 0 && await jobs.TryCompleteAsync(job.Id, cancellationToken) is { } completed)
        {
            job = completed;
            if (request?.HttpContext.RequestServices.GetService(typeof(RollupRefresher)) is RollupRefresher rollups)
            {
                await rollups.RefreshRollupsAsync(job.From, job.To, cancellationToken);
            }
        }

        if (job.State is RecalibrationJob.Completed)
        {
            remaining = 0;
        }

        var target = calibrated + remaining;
        var end = job.FinishedAt ?? time.GetUtcNow();
        // At least a second: a job that finished in milliseconds has no meaningful rate beyond its count.
        var seconds = Math.Max(1, (end - job.CreatedAt).TotalSeconds);
        return new
        {
            id = job.Id,
            sensorId = job.SensorId,
            from = job.From,
            to = job.To,
            reason = job.Reason,
            calibrationVersion = job.CalibrationVersion,
            state = job.State,
            total = target,
            published = job.Published,
            calibrated,
            remaining,
            percent = target == 0 ? 100.0 : Math.Round(100.0 * calibrated / target, 1),
            // The job's own rate: a finished job that published nothing recalculated nothing itself.
            ratePerSecond = job.FinishedAt is not null && job.Published == 0 ? 0 : Math.Round(calibrated / seconds, 1),
            createdAt = job.CreatedAt,
            finishedAt = job.FinishedAt,
        };
    }

    private static object View(CalibrationVersion v) => new { version = v.Version, validFrom = v.ValidFrom, gain = v.Gain, offset = v.Offset };

    private static IResult Error(int status, string? field, string message) => Problems.Message(status, field, message);

}
