using System.Text.Json;
using Microsoft.Extensions.Options;
using SensorPipeline.Domain.Devices;
using SensorPipeline.Domain.Ingest;
using SensorPipeline.Domain.Ingest.Formats;
using SensorPipeline.Domain.Messages;
using SensorPipeline.Domain.Storage;
using SensorPipeline.Functions.Devices;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Ingest;

/// <summary>
/// The one path of a payload through every door (HTTP readings and frames, MQTT, replay): an id
/// (UUIDv7), its format (<see cref="PayloadDecoders"/>), the decoded and checked readings, the
/// device rule, then every reading to <c>temperature.raw</c>: the first carrying the payload's
/// ledger entry (<see cref="PayloadInfo"/>) with its content, the others its id, so that the persist
/// function writes the payload row with its readings. A refused payload goes to the error ledger
/// (<see cref="IngestErrorLedger"/>, best-effort) unless the caller records the outcome itself (replay).
/// </summary>
public sealed partial class PayloadIngest(
    KafkaPublisher publisher, DeviceRegistry devices, IngestErrorLedger errors, PayloadLedgerStore ledger,
    IOptions<PipelineOptions> options, TimeProvider time, ILogger<PayloadIngest> logger)
{
    /// <summary>The door names the ledger records (<c>payload.door</c>): HTTP with a function key.</summary>
    public const string HttpDoor = "http";

    /// <summary>HTTP signed by a device.</summary>
    public const string SignedHttpDoor = "http-signed";

    /// <summary>An MQTT message (embedded broker or bridge).</summary>
    public const string MqttDoor = "mqtt";

    /// <summary>A refused payload submitted again (<c>POST /api/ingest-errors/{id}/replay</c>).</summary>
    public const string ReplayDoor = "replay";

    public async Task<PayloadOutcome> IngestAsync(PayloadSubmission submission, bool recordRefusal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var o = options.Value;
        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var body = submission.Body;
        var decoder = submission.IsFrame ? PayloadDecoders.Frame : PayloadDecoders.ForReadings(body.Span);
        var limits = new ReadingLimits(o.IngestMaxReadingsPerRequest, o.IngestMinValue, o.IngestMaxValue, o.IngestMaxFutureSkew, o.IngestMaxAge);
        var decoded = decoder.Decode(body, new DecodeContext(limits, now, submission.RouteDeviceId));
        var readings = decoded.Readings;
        var deviceId = submission.DeviceId ?? submission.RouteDeviceId ?? LegacyDevice(decoder, readings);
        if (decoded.Errors.Count > 0)
        {
            return Refuse(submission, id, now, decoder, deviceId, StatusCodes.Status400BadRequest, "invalid", decoded.Errors, recordRefusal);
        }

        if (submission.DeviceId is { } writer)
        {
            var foreign = readings.Select((r, i) => (r, i)).Where(x => !DeviceRules.MayWrite(writer, x.r.SensorId))
                .Select(x => new ReadingError(x.i, "sensorId", $"Device {writer} writes only the sensor '{writer}' or sensors named '{writer}:...', not '{x.r.SensorId}'.")).ToList();
            if (foreign.Count > 0)
            {
                return Refuse(submission, id, now, decoder, deviceId, StatusCodes.Status403Forbidden, "forbidden", foreign, recordRefusal);
            }
        }

        var payload = new PayloadInfo
        {
            Id = id,
            ReceivedAt = now,
            Door = submission.Door,
            DeviceId = deviceId,
            Source = submission.Source,
            Format = decoder.Name,
            DecoderVersion = decoder.Version,
            SizeBytes = body.Length,
            Sha256 = PayloadContent.Sha256Hex(body.Span),
            ReadingCount = readings.Count,
        };
        try
        {
            if (readings.Count == 0)
            {
                // Nothing travels to the persist function: the door writes the row itself.
                await ledger.WriteAcceptedWithoutReadingsAsync(payload with { Content = PayloadContent.Capped(body.Span) }, cancellationToken);
            }
            else
            {
                await PublishAsync(readings, payload, body, submission.TraceParent, o.RawTopic, cancellationToken);
            }
        }
        catch (PublishFailedException e)
        {
            LogUnavailable(logger, submission.Door, e.Failed, e.Total, e.FirstError.Reason);
            return new PayloadOutcome(StatusCodes.Status503ServiceUnavailable, id, decoder.Name, 0, "unavailable",
                [new ReadingError(null, null, $"The broker did not acknowledge {e.Failed} of {e.Total} readings; send the payload again (duplicates are harmless).")]);
        }
        catch (Npgsql.NpgsqlException e)
        {
            LogUnavailable(logger, submission.Door, 0, 0, e.Message);
            return new PayloadOutcome(StatusCodes.Status503ServiceUnavailable, id, decoder.Name, 0, "unavailable",
                [new ReadingError(null, null, "The payload ledger did not answer; send the payload again.")]);
        }

        PipelineTelemetry.ReadingsAccepted.Add(readings.Count);
        PipelineTelemetry.PayloadsAccepted.Add(1,
            new KeyValuePair<string, object?>("sensorpipeline.format", decoder.Name),
            new KeyValuePair<string, object?>("sensorpipeline.door", submission.Door));
        if (readings.Count > 0)
        {
            if (submission.DeviceId is not null)
            {
                await devices.RecordSeenAsync(submission.DeviceId, readings.Select(r => r.SensorId), cancellationToken);
            }
            else if (decoder is LegacyDecoder)
            {
                foreach (var group in readings.GroupBy(r => r.SensorId, StringComparer.Ordinal))
                {
                    await devices.RecordLegacySeenAsync(group.Key, [group.Key], cancellationToken);
                }
            }
        }

        return new PayloadOutcome(StatusCodes.Status202Accepted, id, decoder.Name, readings.Count, null, []);
    }

    /// <summary>A legacy payload of one device is that device's (its sensor is named as the device).</summary>
    private static string? LegacyDevice(IPayloadDecoder decoder, IReadOnlyList<RawReadingMessage> readings) =>
        decoder is LegacyDecoder && readings.Count > 0 && readings.All(r => string.Equals(r.SensorId, readings[0].SensorId, StringComparison.Ordinal))
            ? readings[0].SensorId
            : null;

    private async Task PublishAsync(
        IReadOnlyList<RawReadingMessage> readings, PayloadInfo payload, ReadOnlyMemory<byte> body, string? traceParent, string topic, CancellationToken cancellationToken)
    {
        IReadOnlyList<KeyValuePair<string, string>>? headers = traceParent is null ? null : [new(KafkaTracing.TraceParentHeader, traceParent)];
        var withContent = payload with { Content = PayloadContent.Capped(body.Span) };
        var messages = new OutgoingMessage[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            // The payload in full (with its content) on the first message; its id on the others.
            var message = i == 0 ? readings[i] with { Payload = withContent } : readings[i] with { PayloadId = payload.Id };
            messages[i] = new OutgoingMessage(message.SensorId, JsonSerializer.SerializeToUtf8Bytes(message, PipelineJsonContext.Default.RawReadingMessage), headers);
        }

        await publisher.PublishAsync(topic, messages, cancellationToken);
    }

    private PayloadOutcome Refuse(
        PayloadSubmission submission, Guid id, DateTimeOffset now, IPayloadDecoder decoder, string? deviceId, int status, string reason, IReadOnlyList<ReadingError> problems, bool record)
    {
        if (record)
        {
            errors.Refuse(IngestRefusal.Of(id, now, submission.Door, submission.Body.Span) with
            {
                DeviceId = deviceId,
                Source = submission.Source,
                Format = decoder.Name,
                DecoderVersion = decoder.Version,
                Reason = reason,
                Status = status,
                Errors = problems.Count <= Http.Problems.MaxListedErrors ? problems : problems.Take(Http.Problems.MaxListedErrors).ToList(),
            });
        }

        LogRefused(logger, submission.Door, reason, problems.Count);
        return new PayloadOutcome(status, id, decoder.Name, 0, reason, problems);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Refused a payload at door {Door} ({Reason}, {Count} problem(s))")]
    private static partial void LogRefused(ILogger logger, string door, string reason, int count);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Door {Door}: the broker did not acknowledge {Failed} of {Total} readings ({Reason}); answered 503")]
    private static partial void LogUnavailable(ILogger logger, string door, int failed, int total, string reason);
}
