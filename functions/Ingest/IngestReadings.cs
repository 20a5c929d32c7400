using System.Text.Json;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Messages;
using Microsoft.Azure.Functions.Worker;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Functions.Http;
using SensorPipeline.Runtime.Kafka;
using SensorPipeline.Runtime.Http;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// <c>POST /api/readings</c>: one reading or an array of them. All or nothing: any invalid reading
/// rejects the request (400, every problem listed); otherwise every reading is produced to
/// <c>temperature.raw</c> and the answer is 202 only once the broker acknowledged all of them.
/// Two doors: a function key (services), or a device's signature (<see cref="SignedRequests"/>:
/// the device then writes only its own sensors). The function is declared Anonymous so that a
/// signed request reaches it without a key; it checks "a key or a valid signature" itself, and an
/// unsigned request without a valid key is refused before its body is read.
/// </summary>
public sealed partial class IngestReadings(
    KafkaPublisher publisher, RawBacklog backlog, FunctionKeyValidator keys, SignedRequests signatures, DeviceRegistry devices,
    IOptions<PipelineOptions> options, TimeProvider time, ILogger<IngestReadings> logger)
{
    [Function(nameof(IngestReadings))]
    public async Task<IResult> RunAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "readings")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        var signed = SignedRequests.IsSigned(request);
        if (!signed && !keys.IsAuthorized(request, AuthorizationLevel.Function))
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 401));
            return Problems.Message(StatusCodes.Status401Unauthorized, null, "A valid key is required (x-functions-key header or code query parameter), or a device signature (x-device-id, x-timestamp, x-signature).");
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

        var o = options.Value;
        IReadOnlyList<RawReadingMessage> readings;
        IReadOnlyList<ReadingError> errors;
        string? deviceId = null;
        try
        {
            using var body = await JsonBody.ReadAsync(request, cancellationToken);
            if (signed)
            {
                var check = await signatures.VerifyAsync(request, body!.Memory, cancellationToken);
                if (!check.IsValid)
                {
                    PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 401));
                    LogSignatureRefused(logger, check.Problem!);
                    return Problems.Message(StatusCodes.Status401Unauthorized, null, check.Problem!);
                }

                deviceId = check.DeviceId;
            }

            var limits = new ReadingLimits(o.IngestMaxReadingsPerRequest, o.IngestMinValue, o.IngestMaxValue, o.IngestMaxFutureSkew, o.IngestMaxAge);
            (readings, errors) = ReadingRequestParser.Parse(body!.Memory, limits, time.GetUtcNow());
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 413));
            return Problems.BodyTooLarge();
        }

        if (errors.Count > 0)
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 400));
            LogRejected(logger, errors.Count);
            return Problems.Of(StatusCodes.Status400BadRequest, errors);
        }

        if (deviceId is not null)
        {
            var foreign = readings.Select((r, i) => (r, i)).Where(x => !DeviceRules.MayWrite(deviceId, x.r.SensorId))
                .Select(x => new ReadingError(x.i, "sensorId", $"Device {deviceId} writes only the sensor '{deviceId}' or sensors named '{deviceId}:...'.")).ToList();
            if (foreign.Count > 0)
            {
                PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 403));
                return Problems.Of(StatusCodes.Status403Forbidden, foreign);
            }
        }

        // The request's trace travels with every reading (W3C traceparent header) when the app
        // traces (a tracer listens to its sources). Without one, ASP.NET Core's activity exists
        // only for log correlation, and a header on every message would cost each hop for nothing.
        using var activity = PipelineTracing.Ingest.StartActivity("IngestReadings publish", System.Diagnostics.ActivityKind.Producer);
        activity?.SetTag("messaging.destination.name", o.RawTopic);
        activity?.SetTag("messaging.batch.message_count", readings.Count);
        var traceParent = PipelineTracing.Ingest.HasListeners() ? KafkaTracing.TraceParentOf(System.Diagnostics.Activity.Current) : null;
        IReadOnlyList<KeyValuePair<string, string>>? headers = traceParent is null ? null : [new(KafkaTracing.TraceParentHeader, traceParent)];
        var messages = new OutgoingMessage[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            messages[i] = new OutgoingMessage(readings[i].SensorId, JsonSerializer.SerializeToUtf8Bytes(readings[i], PipelineJsonContext.Default.RawReadingMessage), headers);
        }

        try
        {
            await publisher.PublishAsync(o.RawTopic, messages, cancellationToken);
        }
        catch (PublishFailedException e)
        {
            PipelineTelemetry.ReadingsRejected.Add(1, new KeyValuePair<string, object?>("http.response.status_code", 503));
            LogBrokerUnavailable(logger, e.Failed, e.Total, e.FirstError.Reason);
            request.HttpContext.Response.Headers.RetryAfter = "5";
            return Problems.Message(StatusCodes.Status503ServiceUnavailable, null, $"The broker did not acknowledge {e.Failed} of {e.Total} readings; retry the whole request (duplicates are harmless).");
        }

        PipelineTelemetry.ReadingsAccepted.Add(readings.Count);
        if (deviceId is not null)
        {
            await devices.RecordSeenAsync(deviceId, readings.Select(r => r.SensorId), cancellationToken);
        }

        return Results.Json(new AcceptedBody(readings.Count), statusCode: StatusCodes.Status202Accepted);
    }

    public sealed record AcceptedBody(int Accepted);

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Rejected a request with {Count} problem(s)")]
    private static partial void LogRejected(ILogger logger, int count);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Refused a signed request: {Problem}")]
    private static partial void LogSignatureRefused(ILogger logger, string problem);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Broker did not acknowledge {Failed} of {Total} readings ({Reason}); answered 503")]
    private static partial void LogBrokerUnavailable(ILogger logger, int failed, int total, string reason);
}
