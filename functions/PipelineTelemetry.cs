using System.Diagnostics.Metrics;

namespace SensorPipeline.Functions;

/// <summary>The pipeline's instruments (one Meter), after OpenTelemetry naming conventions.</summary>
public static class PipelineTelemetry
{
    public const string MeterName = "SensorPipeline.Pipeline";

    internal static readonly Meter Meter = new(MeterName);

    private static long _uncalibratedCount;
    private static double _uncalibratedOldestSeconds;

    public static readonly Counter<long> ReadingsAccepted = Meter.CreateCounter<long>(
        "sensorpipeline.readings.accepted", unit: "{reading}", description: "Readings accepted over HTTP (202).");

    public static readonly Counter<long> ReadingsRejected = Meter.CreateCounter<long>(
        "sensorpipeline.readings.rejected", unit: "{request}", description: "Requests rejected with 4xx or 503.");

    public static readonly Counter<long> ReadingsPersisted = Meter.CreateCounter<long>(
        "sensorpipeline.readings.persisted", unit: "{reading}", description: "Raw readings handled by PersistRawReadings.");

    public static readonly Counter<long> ReadingsCalibrated = Meter.CreateCounter<long>(
        "sensorpipeline.readings.calibrated", unit: "{reading}", description: "Calibrated values written.");

    public static readonly Counter<long> ReadingsRepublished = Meter.CreateCounter<long>(
        "sensorpipeline.readings.republished", unit: "{reading}", description: "Uncalibrated readings sent again by the reconcile timer.");

    public static readonly Counter<long> PayloadsAccepted = Meter.CreateCounter<long>(
        "sensorpipeline.payloads.accepted", unit: "{payload}", description: "Payloads accepted at a door, by format (sensorpipeline.format) and door.");

    public static readonly Counter<long> Refusals = Meter.CreateCounter<long>(
        "sensorpipeline.ingest.refusals", unit: "{payload}",
        description: "Payloads refused at a door, by reason (sensorpipeline.refusal.reason), door, and stored (true: in the error ledger; false: over the source's rate or the queue, counted only).");

    public static readonly Counter<long> ReadingsConflicting = Meter.CreateCounter<long>(
        "sensorpipeline.readings.conflicting", unit: "{reading}",
        description: "Readings that arrived for a sensor and time already stored with another value in degrees Celsius (the first one stays).");

    public static readonly Histogram<double> EndToEndLatency = Meter.CreateHistogram(
        "sensorpipeline.calibration.latency", unit: "s", description: "New readings (realtime topic): from HTTP accept to calibrated row written. Recalibrated readings are not counted.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    static PipelineTelemetry()
    {
        Meter.CreateObservableGauge("sensorpipeline.uncalibrated.count", () => Volatile.Read(ref _uncalibratedCount),
            unit: "{reading}", description: "Raw readings past the grace period with no calibrated value (last reconcile run).");
        Meter.CreateObservableGauge("sensorpipeline.uncalibrated.oldest_age", () => Volatile.Read(ref _uncalibratedOldestSeconds),
            unit: "s", description: "Age of the oldest uncalibrated reading (last reconcile run).");
    }

    /// <summary>
    /// A calibrated batch: counted by path (<c>sensorpipeline.calibration.path</c> = realtime or
    /// historical); only realtime readings go into the latency histogram — a recalibrated reading's
    /// age since it was received says nothing about the pipeline's latency.
    /// </summary>
    public static void RecordCalibrated(IReadOnlyList<Domain.Messages.CalibrationRequest> batch, DateTimeOffset now, bool realtime)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ReadingsCalibrated.Add(batch.Count, new KeyValuePair<string, object?>("sensorpipeline.calibration.path", realtime ? "realtime" : "historical"));
        if (!realtime)
        {
            return;
        }

        foreach (var request in batch)
        {
            EndToEndLatency.Record(Math.Max(0, (now - request.ReceivedAt).TotalSeconds));
        }
    }

    public static void ReportUncalibrated(long count, double oldestAgeSeconds)
    {
        Volatile.Write(ref _uncalibratedCount, count);
        Volatile.Write(ref _uncalibratedOldestSeconds, oldestAgeSeconds);
    }
}
