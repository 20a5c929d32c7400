using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace SensorPipeline.Functions.Query;

/// <summary>Parsing and checking of the read API's query parameters.</summary>
public static class QueryParameters
{
    /// <summary>
    /// <c>from</c> and <c>to</c> (ISO-8601; without an offset, UTC): to defaults to now, from to
    /// <c>to − defaultSpan</c>; from must not be after to, and the range must not exceed the limit.
    /// </summary>
    /// <param name="request">The request with the parameters.</param>
    /// <param name="now">The default <c>to</c> when only <c>from</c> is given.</param>
    /// <param name="defaultSpan">The default width of the range.</param>
    /// <param name="maxRange">The widest range allowed (QueryMaxRange).</param>
    /// <param name="latestEnd">
    /// With neither <c>from</c> nor <c>to</c>: the end of the range (exclusive) — the end of the
    /// sensor's latest data, so the default window shows its newest readings however old they are;
    /// null means now.
    /// </param>
    public static (DateTimeOffset From, DateTimeOffset To) TimeRange(HttpRequest request, DateTimeOffset now, TimeSpan defaultSpan, TimeSpan maxRange, DateTimeOffset? latestEnd = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var givenFrom = Time(request, "from");
        var givenTo = Time(request, "to");
        var to = givenTo ?? (givenFrom is null && latestEnd is { } end ? end : now);
        var from = givenFrom ?? to - defaultSpan;
        if (from > to)
        {
            throw new QueryParameterException("from", $"'from' ({Format(from)}) is after 'to' ({Format(to)}).");
        }

        if (to - from > maxRange)
        {
            throw new QueryParameterException("from", $"The range from 'from' to 'to' is {(to - from).TotalDays:0.##} days; at most {maxRange.TotalDays:0.##} days (QueryMaxRange) may be asked for at once.");
        }

        return (from, to);
    }

    /// <summary>An optional time parameter; a bad value is a <see cref="QueryParameterException"/>.</summary>
    public static DateTimeOffset? Time(HttpRequest request, string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? text = request.Query[name];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        // An unencoded '+' of an offset arrives as a space.
        text = text.Replace(' ', '+');
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new QueryParameterException(name, $"'{name}' must be an ISO-8601 time such as 2026-11-23T10:00:00Z; got '{Truncate(text)}'.");
        }

        return value;
    }

    /// <summary>An optional integer in [min, max], or the default.</summary>
    public static int Int(HttpRequest request, string name, int defaultValue, int min, int max)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? text = request.Query[name];
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new QueryParameterException(name, $"'{name}' must be a whole number from {min} to {max}; got '{Truncate(text)}'.");
        }

        return value;
    }

    /// <summary>An opaque keyset cursor: the recorded_at (in microseconds) of the last reading returned.</summary>
    public static string EncodeCursor(DateTimeOffset recordedAt)
    {
        var micros = (recordedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        return Base64Url.EncodeToString(Encoding.ASCII.GetBytes("r1:" + micros.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The cursor of <c>after</c>, if given; a cursor this API did not make is a 400.</summary>
    public static DateTimeOffset? Cursor(HttpRequest request, string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        string? text = request.Query[name];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(text));
            if (decoded.StartsWith("r1:", StringComparison.Ordinal) &&
                long.TryParse(decoded.AsSpan(3), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
            {
                return DateTimeOffset.UnixEpoch.AddTicks(checked(micros * 10));
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            // Reported below.
        }

        throw new QueryParameterException(name, $"'{name}' is not a cursor from a 'next' link of this API.");
    }

    /// <summary>A time as the API writes it in links: UTC, ISO-8601, to the microsecond.</summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
