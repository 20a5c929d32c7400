using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Ingest.Formats;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Functions.Http;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Http;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// The HTTP doors. <c>POST /api/readings</c>: one reading or an array of them, in the native or the
/// legacy format (recognised per payload, <see cref="PayloadDecoders.ForReadings"/>).
/// <c>POST /api/devices/{id}/frames</c>: one multi-channel frame of device <c>id</c>. All or
/// nothing: any invalid reading rejects the payload (400, every problem listed); otherwise every
/// reading is produced to <c>temperature.raw</c> and the answer is 202 only once the broker
/// acknowledged all of them (<see cref="PayloadIngest"/>). Two ways in: a function key (services),
/// or a device's signature (<see cref="SignedRequests"/>: the device then writes only its own
/// sensors). The functions are declared Anonymous so that a signed request reaches them without a
/// key; they check "a key or a valid signature" themselves, and an unsigned request without a
/// valid key is refused before its body is read. Every 400/401/403/413 goes to the error ledger
/// (best-effort, within the source's rate).
/// </summary>
public sealed partial class IngestReadings(
    PayloadIngest ingest, IngestErrorLedger ledger, RawBacklog backlog, FunctionKeyValidator keys, SignedRequests signatures,
    TimeProvider time, ILogger<IngestReadings> logger)
{
    [Function(nameof(IngestReadings))]
    public Task<IResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "readings")] HttpRequest request,
        CancellationToken cancellationToken) =>
        IngestAsync(request, null, cancellationToken);

    [Function(nameof(IngestFrames))]
    public Task<IResult> IngestFrames(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices/{deviceId}/frames")] HttpRequest request,
        string deviceId,
        CancellationToken cancellationToken) =>
        IngestAsync(request, deviceId ?? "", cancellationToken);

    /// <param name="request">The request.</param>
    /// <param name="frameDevice">The frames route's device; null for <c>/api/readings</c>.</param>
    /// <param name="cancellationToken">Cancels the body read and the produce.</param>
    private async Task<IResult> IngestAsync(HttpRequest request, string? frameDevice, CancellationToken cancellationToken)
    {
        var signed = SignedRequests.IsSigned(request);
        var door = signed ? PayloadIngest.SignedHttpDoor : PayloadIngest.HttpDoor;
        var address = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!signed && !keys.IsAuthorized(request, AuthorizationLevel.Function))
        {
            return Refused(request, door, null, address, StatusCodes.Status401Unauthorized, "unauthorized",
                "A valid key is required (x-functions-key header or code query parameter), or a device signature (x-device-id, x-timestamp, x-signature).");
        }

        if (!JsonBody.IsJson(request.ContentType))
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 415));
            return Problems.Message(StatusCodes.Status415UnsupportedMediaType, null, "Content-Type must be application/json.");
        }

        if (backlog.IsOverLimit)
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 503));
            request.HttpContext.Response.Headers.RetryAfter = "1";
            return Problems.Message(StatusCodes.Status503ServiceUnavailable, null, $"The pipeline is {backlog.Current} readings behind (IngestMaxRawBacklog); retry shortly.");
        }

        PayloadOutcome outcome;
        try
        {
            using var body = await JsonBody.ReadAsync(request, cancellationToken);
            string? deviceId = null;
            if (signed)
            {
                var check = await signatures.VerifyAsync(request, body!.Memory, cancellationToken);
                if (!check.IsValid)
                {
                    LogSignatureRefused(logger, check.Problem!);
                    return Refused(request, door, body!.Memory, request.Headers["x-device-id"].FirstOrDefault() ?? address,
                        StatusCodes.Status401Unauthorized, "unauthorized", check.Problem!);
                }

                deviceId = check.DeviceId;
            }

            // The request's trace travels with every reading (W3C traceparent header) when the app
            // traces (a tracer listens to its sources). Without one, ASP.NET Core's activity exists
            // only for log correlation, and a header on every message would cost each hop for nothing.
            using var activity = PipelineTracing.Ingest.StartActivity("IngestReadings publish", System.Diagnostics.ActivityKind.Producer);
            var traceParent = PipelineTracing.Ingest.HasListeners() ? KafkaTracing.TraceParentOf(System.Diagnostics.Activity.Current) : null;
            var submission = new PayloadSubmission(door, deviceId, frameDevice, deviceId is null ? "key" : null,
                frameDevice is not null, body!.Memory, traceParent);
            outcome = await ingest.IngestAsync(submission, recordRefusal: true, cancellationToken);
            activity?.SetTag("messaging.batch.message_count", outcome.Accepted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Refused(request, door, null, address, StatusCodes.Status413PayloadTooLarge, "too_large", Problems.BodyTooLargeText);
        }

        if (!outcome.IsAccepted)
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", outcome.Status));
        }

        switch (outcome.Status)
        {
            case StatusCodes.Status202Accepted:
                return Results.Json(new AcceptedBody(outcome.Accepted, outcome.PayloadId, outcome.Format), statusCode: StatusCodes.Status202Accepted);
            case StatusCodes.Status503ServiceUnavailable:
                request.HttpContext.Response.Headers.RetryAfter = "5";
                return Problems.Message(StatusCodes.Status503ServiceUnavailable, null, outcome.Errors[0].Message);
            default:
                return Problems.Of(outcome.Status, outcome.Errors);
        }
    }

    /// <summary>A refusal before the payload was decoded (401, 413): answered, and handed to the error ledger.</summary>
    private IResult Refused(HttpRequest request, string door, ReadOnlyMemory<byte>? body, string source, int status, string reason, string message)
    {
        PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", status));
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var refusal = body is { } read
            ? IngestRefusal.Of(id, time.GetUtcNow(), door, read.Span)
            : new IngestRefusal
            {
                PayloadId = id,
                ReceivedAt = time.GetUtcNow(),
                Door = door,
                SizeBytes = (int)Math.Min(int.MaxValue, request.ContentLength ?? 0),
                Reason = "",
                Status = 0,
                Errors = [],
            };
        var error = new ReadingError(null, null, message);
        ledger.Refuse(refusal with { Source = source, Reason = reason, Status = status, Errors = [error] });
        return Problems.Of(status, [error]);
    }

    /// <summary>The 202's body: how many readings, the payload's id in the ledger, its format.</summary>
    public sealed record AcceptedBody(int Accepted, Guid PayloadId, string Format);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Refused a signed request: {Problem}")]
    private static partial void LogSignatureRefused(ILogger logger, string problem);
}
