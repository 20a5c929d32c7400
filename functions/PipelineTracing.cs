using System.Diagnostics;

namespace SensorPipeline.Functions;

/// <summary>
/// The pipeline's activity sources, one per component. The runtime's own
/// (<see cref="Runtime.Hosting.FunctionInvoker.ActivitySource"/>) traces each Kafka invocation
/// and carries the W3C <c>traceparent</c> across Kafka headers.
/// </summary>
public static class PipelineTracing
{
    public static readonly ActivitySource Ingest = new("SensorPipeline.Ingest");

    public static readonly ActivitySource Calibrate = new("SensorPipeline.Calibrate");

    public static readonly ActivitySource Query = new("SensorPipeline.Query");

    /// <summary>Every source of the app, for the tracer provider.</summary>
    public static readonly string[] SourceNames =
        [Runtime.Hosting.FunctionInvoker.ActivitySource.Name, Ingest.Name, Calibrate.Name, Query.Name];
}
