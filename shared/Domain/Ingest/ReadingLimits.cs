namespace SensorPipeline.Domain.Ingest;

/// <summary>Limits a request is checked against.</summary>
/// <remarks><paramref name="MaxAge"/>: how far in the past <c>recordedAt</c> may be (older readings are refused).</remarks>
public sealed record ReadingLimits(int MaxReadingsPerRequest, double MinValue, double MaxValue, TimeSpan MaxFutureSkew, TimeSpan MaxAge)
{
    /// <summary>The default of <c>IngestMaxAge</c>: 10 years (3650 days).</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromDays(3650);

    public static ReadingLimits Default { get; } = new(5000, -1000, 1000, TimeSpan.FromMinutes(5), DefaultMaxAge);
}
