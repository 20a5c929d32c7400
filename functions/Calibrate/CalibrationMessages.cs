using SensorPipeline.Domain.Messages;
using SensorPipeline.Runtime.Kafka;

namespace SensorPipeline.Functions.Calibrate;

/// <summary>
/// Calibration requests as messages for the calibration topics (key and value from the domain's
/// <see cref="CalibrationRequest"/>), with an optional <c>traceparent</c> each. Used by everything
/// that sends readings to calibration: PersistRawReadings, ReconcileUncalibrated, the recalibration producer.
/// </summary>
public static class CalibrationMessages
{
    public static OutgoingMessage[] From(IReadOnlyList<CalibrationRequest> requests, IReadOnlyList<string?>? traceParents = null)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var messages = new OutgoingMessage[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            messages[i] = new OutgoingMessage(
                requests[i].MessageKey(),
                requests[i].MessageValue(),
                traceParents?[i] is { } traceParent ? [new(KafkaTracing.TraceParentHeader, traceParent)] : null);
        }

        return messages;
    }
}
