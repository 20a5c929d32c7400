using NCrontab;

namespace SensorPipeline.Runtime.Timers;

/// <summary>A 6-field NCRONTAB schedule (seconds minutes hours day month weekday), in UTC.</summary>
public sealed class TimerSchedule
{
    private readonly CrontabSchedule _schedule;

    private TimerSchedule(CrontabSchedule schedule, string expression)
    {
        _schedule = schedule;
        Expression = expression;
    }

    public string Expression { get; }

    public static TimerSchedule Parse(string expression, string usedBy)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var fields = expression.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
        {
            throw new FormatException(
                $"Timer schedule '{expression}' of {usedBy} must have 6 fields (second minute hour day month weekday), e.g. '0 */1 * * * *'.");
        }

        expression = string.Join(' ', fields);
        var schedule = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true })
            ?? throw new FormatException($"Timer schedule '{expression}' of {usedBy} is not a valid NCRONTAB expression.");
        var next = schedule.GetNextOccurrence(DateTime.UtcNow);
        if (next.Year >= 9999)
        {
            throw new FormatException($"Timer schedule '{expression}' of {usedBy} never fires (e.g. the 30th of February).");
        }

        return new TimerSchedule(schedule, expression);
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset Next(DateTimeOffset after) =>
        new(DateTime.SpecifyKind(_schedule.GetNextOccurrence(after.UtcDateTime), DateTimeKind.Utc));

    /// <summary>The last occurrence at or before <paramref name="at"/>, looking back at most 400 days.</summary>
    public DateTimeOffset? Previous(DateTimeOffset at)
    {
        // Walk back in growing windows: recent occurrences are found with little work.
        var longest = TimeSpan.FromDays(400);
        for (var window = TimeSpan.FromMinutes(2); ; window = window * 8 < longest ? window * 8 : longest)
        {
            var start = at.UtcDateTime - window;
            DateTime? last = null;
            foreach (var occurrence in _schedule.GetNextOccurrences(start, at.UtcDateTime.AddTicks(1)))
            {
                last = occurrence;
            }

            if (last is not null)
            {
                return new DateTimeOffset(DateTime.SpecifyKind(last.Value, DateTimeKind.Utc));
            }

            if (window == longest)
            {
                return null;
            }
        }
    }
}
