using System.Globalization;

namespace SensorPipeline.Benchmarks;

/// <summary>CPU and memory of processes and threads, read from /proc (Linux).</summary>
internal static class ProcStats
{
    /// <summary>Clock ticks per second of utime/stime (USER_HZ; 100 on Linux).</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime of a process (all its threads), in seconds; null if it is gone.</summary>
    public static double? CpuSeconds(int pid) => CpuSecondsOf($"/proc/{pid}/stat");

    /// <summary>A kB value of /proc/&lt;pid&gt;/status (VmRSS, VmHWM), in MB; null if it is gone.</summary>
    public static double? StatusMb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>CPU seconds of a process and every process whose parent it is (PostgreSQL's backends).</summary>
    public static double TreeCpuSeconds(int rootPid)
    {
        var total = CpuSeconds(rootPid) ?? 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == rootPid)
            {
                continue;
            }

            var fields = StatFields(Path.Combine(dir, "stat"));
            if (fields is not null && int.Parse(fields[1], CultureInfo.InvariantCulture) == rootPid)
            {
                total += Ticks(fields) / TicksPerSecond;
            }
        }

        return total;
    }

    /// <summary>CPU seconds of this process's threads, grouped by thread name (librdkafka names its threads rdk:*).</summary>
    public static Dictionary<string, double> OwnThreadsCpuSeconds()
    {
        var byName = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string name;
            try
            {
                name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
            }
            catch (IOException)
            {
                continue;
            }

            var fields = StatFields(Path.Combine(dir, "stat"));
            if (fields is null)
            {
                continue;
            }

            var group = Group(name);
            byName[group] = byName.GetValueOrDefault(group) + Ticks(fields) / TicksPerSecond;
        }

        return byName;
    }

    /// <summary>Busy and total jiffies of the whole machine (/proc/stat, first line).</summary>
    public static (double Busy, double Total) MachineCpu()
    {
        var parts = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = parts.Skip(1).Take(8).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = values.Sum();
        var idle = values[3] + values[4];
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Aggregate((a, b) => a + " " + b);

    private static string Group(string thread) =>
        thread.StartsWith("rdk:", StringComparison.Ordinal) ? thread.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9') :
        thread.StartsWith(".NET", StringComparison.Ordinal) ? ".NET runtime/thread pool" :
        thread;

    private static double? CpuSecondsOf(string statPath)
    {
        var fields = StatFields(statPath);
        return fields is null ? null : Ticks(fields) / TicksPerSecond;
    }

    private static double Ticks(string[] fieldsAfterName) =>
        // After "pid (comm) ": state is [0], ppid [1], ..., utime [11], stime [12].
        double.Parse(fieldsAfterName[11], CultureInfo.InvariantCulture) + double.Parse(fieldsAfterName[12], CultureInfo.InvariantCulture);

    private static string[]? StatFields(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            var close = text.LastIndexOf(')');
            return close < 0 ? null : text[(close + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
