using System.Text;
using System.Text.RegularExpressions;

namespace SensorPipeline.Domain.Storage;

/// <summary>
/// What the Migrator needs to know about a migration file's text: whether it must run outside a
/// transaction, its top-level statements, and its placeholders.
/// </summary>
public static partial class SqlScript
{
    /// <summary>A file whose first line is this runs statement by statement, outside a transaction.</summary>
    public const string NoTransactionMarker = "-- migrate: no-transaction";

    /// <summary>Whether the script's first line is <see cref="NoTransactionMarker"/>.</summary>
    public static bool IsNoTransaction(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var end = sql.IndexOf('\n', StringComparison.Ordinal);
        var first = (end < 0 ? sql : sql[..end]).Trim().TrimStart('\uFEFF');
        return string.Equals(first, NoTransactionMarker, StringComparison.Ordinal);
    }

    /// <summary>
    /// Replaces every <c>{{name}}</c> with its value. A placeholder without a value, or anything
    /// left looking like one, is an error: no script runs half-substituted.
    /// </summary>
    public static string Substitute(string sql, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(values);
        var result = Placeholder().Replace(sql, m => values.TryGetValue(m.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException($"Migration placeholder {{{{{m.Groups[1].Value}}}}} has no value."));
        var left = result.IndexOf("{{", StringComparison.Ordinal);
        return left < 0 && !result.Contains("}}", StringComparison.Ordinal)
            ? result
            : throw new InvalidOperationException($"Malformed migration placeholder near: {result[Math.Max(0, left)..Math.Min(result.Length, Math.Max(0, left) + 40)]}");
    }

    /// <summary>The placeholder names a script uses.</summary>
    public static IReadOnlySet<string> PlaceholderNames(string sql) =>
        Placeholder().Matches(sql).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Splits a script into its top-level statements at semicolons outside string literals, quoted
    /// identifiers, dollar-quoted bodies and comments. Statements that are only comments and
    /// whitespace are dropped; the rest keep their comments. Throws on an unterminated literal.
    /// </summary>
    public static IReadOnlyList<string> Split(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var statements = new List<string>();
        var start = 0;
        var hasCode = false;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var next = i + 1 < sql.Length ? sql[i + 1] : '\0';
            if (c == '-' && next == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (c == '/' && next == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else if (c == '\'')
            {
                var escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentifierChar(sql[i - 2]));
                i = SkipQuoted(sql, i, '\'', escapes);
                hasCode = true;
            }
            else if (c == '"')
            {
                i = SkipQuoted(sql, i, '"', backslashEscapes: false);
                hasCode = true;
            }
            else if (c == '$' && DollarTag(sql, i) is { } tag)
            {
                var close = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                i = close < 0 ? throw Unterminated(sql, i, "dollar-quoted string " + tag) : close + tag.Length;
                hasCode = true;
            }
            else if (c == ';')
            {
                if (hasCode)
                {
                    statements.Add(sql[start..i].Trim());
                }

                start = ++i;
                hasCode = false;
            }
            else
            {
                hasCode |= !char.IsWhiteSpace(c);
                i++;
            }
        }

        if (hasCode)
        {
            statements.Add(sql[start..].Trim());
        }

        return statements;
    }

    /// <summary><c>$tag$</c> starting at <paramref name="i"/>, or null (a parameter like <c>$1</c>, or <c>$</c> inside an identifier).</summary>
    private static string? DollarTag(string sql, int i)
    {
        if (i > 0 && IsIdentifierChar(sql[i - 1]))
        {
            return null;
        }

        var j = i + 1;
        while (j < sql.Length && (char.IsLetter(sql[j]) || sql[j] == '_' || (j > i + 1 && char.IsDigit(sql[j]))))
        {
            j++;
        }

        return j < sql.Length && sql[j] == '$' ? sql[i..(j + 1)] : null;
    }

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '$';

    private static int SkipQuoted(string sql, int i, char quote, bool backslashEscapes)
    {
        for (var j = i + 1; j < sql.Length; j++)
        {
            if (backslashEscapes && sql[j] == '\\')
            {
                j++;
            }
            else if (sql[j] == quote)
            {
                if (j + 1 < sql.Length && sql[j + 1] == quote)
                {
                    j++;
                }
                else
                {
                    return j + 1;
                }
            }
        }

        throw Unterminated(sql, i, quote == '\'' ? "string literal" : "quoted identifier");
    }

    private static int SkipBlockComment(string sql, int i)
    {
        // PostgreSQL block comments nest.
        var depth = 0;
        for (var j = i; j < sql.Length - 1; j++)
        {
            if (sql[j] == '/' && sql[j + 1] == '*')
            {
                depth++;
                j++;
            }
            else if (sql[j] == '*' && sql[j + 1] == '/')
            {
                depth--;
                j++;
                if (depth == 0)
                {
                    return j + 1;
                }
            }
        }

        throw Unterminated(sql, i, "block comment");
    }

    private static FormatException Unterminated(string sql, int i, string what)
    {
        var line = 1 + sql.AsSpan(0, i).Count('\n');
        return new FormatException(new StringBuilder().Append("Unterminated ").Append(what).Append(" starting on line ").Append(line).Append('.').ToString());
    }

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
