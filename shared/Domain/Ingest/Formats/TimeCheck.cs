using System.Globalization;

namespace SensorPipeline.Domain.Ingest.Formats;

/// <summary>The native parser's time rules for the other formats: not too far in the future, not older than the limit.</summary>
internal static class TimeCheck
{
    public static string? Problem(DateTimeOffset recordedAt, DecodeContext context)
    {
        var limits = context.Limits;
        if (recordedAt > context.Now + limits.MaxFutureSkew)
        {
            return $"Is more than {limits.MaxFutureSkew.TotalSeconds:0} s in the future.";
        }

        if (limits.MaxAge < context.Now - DateTimeOffset.MinValue && recordedAt < context.Now - limits.MaxAge)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Is more than {limits.MaxAge.TotalDays:0.##} days in the past (IngestMaxAge).");
        }

        return null;
    }
}
