using System.Diagnostics.Metrics;

namespace SensorPipeline.Runtime;

/// <summary>The runtime's instruments; names and units after OpenTelemetry conventions.</summary>
public static class RuntimeTelemetry
{
    public const string MeterName = "SensorPipeline.Functions.Runtime";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> InvocationDuration = Meter.CreateHistogram(
        "functions.invocation.duration", unit: "s", description: "Duration of function invocations.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

    public static readonly Counter<long> MessagesProcessed = Meter.CreateCounter<long>(
        "messaging.client.consumed.messages", unit: "{message}", description: "Kafka messages processed successfully by a function.");

    public static readonly Counter<long> MessagesDeadLettered = Meter.CreateCounter<long>(
        "functions.kafka.deadlettered", unit: "{message}", description: "Kafka messages sent to a dead-letter topic.");

    public static readonly Counter<long> InvocationRetries = Meter.CreateCounter<long>(
        "functions.invocation.retries", unit: "{retry}", description: "Retries of failed invocations.");
}
