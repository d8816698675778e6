import Mustache
import YuqingCases

/// The console's templates (Mustache) and stylesheet, compiled into the hub: nothing is read
/// from disk or the network at run time.
enum ConsoleTemplates {
    static func library() -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in templates {
            do { try library.register(text, named: name) } catch { preconditionFailure("console template \(name): \(error)") }
        }
        return library
    }

    /// The words templates use, in the page's language.
    static func words(_ l: Language) -> [String: String] {
        var out: [String: String] = [:]
        for (key, en, zh) in vocabulary { out[key] = l == .zh ? zh : en }
        return out
    }

    static let vocabulary: [(String, String, String)] = [
        ("app", "Yuqing console", "舆情处置控制台"), ("sign_out", "Sign out", "退出登录"), ("sign_in", "Sign in", "登录"),
        ("user", "User name", "用户名"), ("password", "Password", "密码"), ("signed_in_as", "Signed in as", "当前用户"),
        ("open_cases", "Open cases by level", "按级别统计的未结案件"), ("overdue", "Overdue", "已逾期"), ("due_soon", "Due within 24 hours", "24小时内到期"),
        ("conflicts", "Open conflicts", "未解决的冲突"), ("stale", "Units whose nodes have not synced", "节点未同步的单位"),
        ("stale_for", "for more than this many hours:", "超过以下小时数："), ("compliance", "Zero-report compliance", "零报告制度执行情况"),
        ("monthly_for", "monthly reports on", "月报告所属月份"), ("none", "None.", "无。"), ("total", "Total", "合计"),
        ("id", "Case", "案件编号"), ("title", "Title", "标题"), ("unit", "Unit", "单位"), ("lead", "Lead unit", "牵头单位"),
        ("level", "Level", "级别"), ("category", "Category", "分类"), ("status", "Status", "状态"), ("discovered", "Discovered", "发现时间"),
        ("due", "Next deadline", "最近期限"), ("search", "Search", "搜索"), ("search_hint", "words in the case or its replies", "案件或回复中的词语"),
        ("overdue_only", "overdue only", "仅看逾期"), ("open_only", "not archived", "未归档"), ("filter", "Filter", "筛选"), ("page", "Page", "第"), ("of", "of", "页，共"),
        ("prev", "Previous", "上一页"), ("next", "Next", "下一页"), ("found", "cases", "件"), ("source", "Source", "来源"),
        ("platform", "Platform", "平台"), ("poster", "Poster", "发帖人"), ("site", "Site", "网站"), ("summary", "Summary", "摘要"),
        ("excerpt", "Excerpt", "原文摘录"), ("concerned", "Units concerned", "涉事单位"), ("co_units", "Co-units", "协办单位"),
        ("keywords", "Keywords", "关键词"), ("deadlines", "Deadlines", "时限"), ("clock", "Clock", "时限项目"), ("met", "Met", "完成时间"),
        ("timeline", "Timeline", "办理记录"), ("time", "Time", "时间"), ("step", "Step", "步骤"), ("by", "By", "操作人"),
        ("role", "Role", "角色"), ("device", "Device", "设备"), ("detail", "Detail", "内容"), ("moot", "without effect", "未生效"),
        ("evidence", "Evidence", "证据"), ("name", "Name", "名称"), ("size", "Bytes", "字节"), ("type", "Type", "类型"),
        ("digest", "SHA-256", "SHA-256"), ("download", "download", "下载"), ("not_held", "not at the hub yet", "尚未送达中心"),
        ("reports", "Reports", "报告"), ("kind", "Kind", "类别"), ("text", "Text", "内容"), ("replies", "Replies", "回复"),
        ("version", "Version", "版本"), ("stage", "Stage", "阶段"), ("signed_by", "Signed by", "签字人"), ("reason", "Returned because", "退回理由"),
        ("link", "Published at", "发布地址"), ("steps", "The office's steps", "舆情办操作"), ("no_steps", "Your roles take no step on this case now.", "您的角色目前不能对该案件进行操作。"),
        ("case_conflicts", "This case has open conflicts:", "该案件有未解决的冲突："), ("field", "Field", "字段"), ("values", "Values", "值的个数"),
        ("provisional", "Shown meanwhile", "暂时显示的值"), ("resolved", "Resolved lately", "最近的裁决"), ("note", "Note", "说明"),
        ("value", "Value", "值"), ("author", "Author", "作者"), ("base", "The value both started from", "双方的共同起点值"),
        ("side", "Side", "一方"), ("back_to_queue", "Back to the queue", "返回冲突队列"), ("open_case", "Open the case", "打开案件"),
        ("export", "Export", "导出"), ("other_months", "Other months", "其他月份"), ("devices", "Devices", "设备"),
        ("key", "Key", "密钥指纹"), ("enrolled", "Enrolled", "注册时间"), ("seen", "Last reached the hub", "最近连接中心"),
        ("revoked", "Revoked", "已吊销"), ("active", "active", "有效"), ("revoke", "Revoke", "吊销"),
        ("code_made", "One-time enrolment code (shown once) for", "一次性注册码（仅显示一次），用户"),
        ("code_use", "The node presents it once: yuqing node enrol --code CODE", "节点出示一次：yuqing node enrol --code CODE"),
        ("units", "Units", "单位"), ("parent", "Unit above", "上级单位"), ("users", "Users", "用户"), ("roles", "Roles", "角色"),
        ("topic", "Topic", "专题"), ("watched_by", "Watched by", "监测单位"), ("retire", "Retire", "停用"), ("retired", "retired", "已停用"),
        ("holidays", "Holidays", "节假日"), ("saved", "Saved.", "已保存。"), ("error", "Something is wrong", "出错了"),
        ("back", "Back", "返回"), ("resolved_now", "Resolved: every node receives the value at its next sync.", "已裁决：各节点将在下次同步时收到该值。"), ("statistics", "Statistics", "统计"), ("required", "required", "必填"),
    ]

    static let templates: [String: String] = [
        "layout": """
            <!DOCTYPE html>
            <html lang="{{lang}}">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · {{t.app}}</title><link rel="stylesheet" href="/console/assets/console.css"></head>
            <body>
            <header class="top"><a class="brand" href="/console/dashboard">{{t.app}}</a>
            {{#signed_in}}<nav>{{#nav}}<a href="{{href}}"{{#active}} class="active" aria-current="page"{{/active}}>{{label}}</a>{{/nav}}</nav>{{/signed_in}}
            <div class="who">
            <a class="lang" href="/console/lang?to={{other_lang}}&amp;back={{back}}" hreflang="{{other_lang}}">{{other_lang_name}}</a>
            {{#signed_in}}<span>{{t.signed_in_as}} {{user}} · {{unit}} · {{roles}}</span>
            <form method="post" action="/console/sign-out" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button id="sign-out">{{t.sign_out}}</button></form>{{/signed_in}}
            </div></header>
            <main>
            {{{body}}}
            </main>
            </body></html>
            """,
        "form": """
            <form method="post" action="{{form_action}}" class="card form" id="form-{{form_id}}">
            <h3>{{form_title}}</h3>
            {{#form_error}}<p class="error" role="alert">{{form_error}}</p>{{/form_error}}
            <input type="hidden" name="_csrf" value="{{csrf}}">
            {{#form_hidden}}<input type="hidden" name="{{hidden_name}}" value="{{hidden_value}}">{{/form_hidden}}
            {{#fields}}<div class="field{{#field_error}} invalid{{/field_error}}">
            <label for="{{field_id}}">{{field_label}}{{#field_required}} *{{/field_required}}</label>
            {{#is_text}}<input id="{{field_id}}" name="{{field_name}}" value="{{field_value}}"{{#field_required}} required{{/field_required}}>{{/is_text}}
            {{#is_number}}<input id="{{field_id}}" name="{{field_name}}" value="{{field_value}}" inputmode="numeric"{{#field_required}} required{{/field_required}}>{{/is_number}}
            {{#is_password}}<input id="{{field_id}}" type="password" name="{{field_name}}"{{#field_required}} required{{/field_required}}>{{/is_password}}
            {{#is_datetime}}<input id="{{field_id}}" type="datetime-local" name="{{field_name}}" value="{{field_value}}"{{#field_required}} required{{/field_required}}>{{/is_datetime}}
            {{#is_textarea}}<textarea id="{{field_id}}" name="{{field_name}}" rows="3"{{#field_required}} required{{/field_required}}>{{field_value}}</textarea>{{/is_textarea}}
            {{#is_select}}<select id="{{field_id}}" name="{{field_name}}">{{#options}}<option value="{{option_value}}"{{#option_selected}} selected{{/option_selected}}>{{option_label}}</option>{{/options}}</select>{{/is_select}}
            {{#is_checks}}<div class="checks" id="{{field_id}}">{{#options}}<label><input type="checkbox" name="{{field_name}}" value="{{option_value}}"{{#option_selected}} checked{{/option_selected}}> {{option_label}}</label>{{/options}}</div>{{/is_checks}}
            {{#field_hint}}<small>{{field_hint}}</small>{{/field_hint}}
            {{#field_error}}<p class="field-error" role="alert" id="{{field_id}}-error">{{field_error}}</p>{{/field_error}}
            </div>{{/fields}}
            <button type="submit"{{#form_danger}} class="danger"{{/form_danger}}>{{form_submit}}</button>
            </form>
            """,
        "sign-in": """
            <section class="card narrow"><h1>{{t.sign_in}}</h1>
            {{#message}}<p class="error" role="alert" id="sign-in-error">{{message}}</p>{{/message}}
            <form method="post" action="/console/sign-in" id="form-sign-in">
            <input type="hidden" name="_csrf" value="{{csrf_signin}}"><input type="hidden" name="back" value="{{back}}">
            <div class="field"><label for="user">{{t.user}}</label><input id="user" name="user" value="{{user}}" autocomplete="username" required autofocus></div>
            <div class="field"><label for="password">{{t.password}}</label><input id="password" type="password" name="password" autocomplete="current-password" required></div>
            <button type="submit" id="sign-in">{{t.sign_in}}</button></form></section>
            """,
        "error": """
            <section class="card"><h1>{{t.error}} ({{status}})</h1><p class="error" role="alert" id="error-message">{{message}}</p>
            <p>{{#back_href}}<a href="{{back_href}}">{{t.back}}</a>{{/back_href}}{{^back_href}}<a href="/console/dashboard">{{t.back}}</a>{{/back_href}}</p></section>
            """,
        "case-table": """
            <table class="cases"><thead><tr><th>{{t.id}}</th><th>{{t.title}}</th><th>{{t.unit}}</th><th>{{t.lead}}</th><th>{{t.level}}</th><th>{{t.status}}</th><th>{{t.discovered}}</th><th>{{t.due}}</th></tr></thead>
            <tbody>{{#rows}}<tr{{#overdue}} class="overdue"{{/overdue}}><td><a href="{{href}}">{{id}}</a></td><td>{{title}}</td><td>{{unit}}</td><td>{{lead}}</td><td>{{level}}</td><td>{{status}}</td><td>{{discovered}}</td><td>{{due}}</td></tr>{{/rows}}</tbody></table>
            """,
        "dashboard": """
            <h1>{{t.open_cases}} ({{open_total}})</h1>
            <section class="tiles">{{#levels}}<a class="tile" href="{{href}}"><span class="n">{{count}}</span><span>{{level}}</span></a>{{/levels}}{{^levels}}<p>{{t.none}}</p>{{/levels}}
            {{#conflicts}}<a class="tile{{#warn}} warn{{/warn}}" id="tile-conflicts" {{#link}}href="/console/conflicts"{{/link}}><span class="n">{{count}}</span><span>{{t.conflicts}}</span></a>{{/conflicts}}</section>
            <section class="card"><h2>{{t.overdue}}</h2>{{^overdue}}<p>{{t.none}}</p>{{/overdue}}<div id="overdue">{{> overdue-table}}</div></section>
            <section class="card"><h2>{{t.due_soon}}</h2>{{^due_soon}}<p>{{t.none}}</p>{{/due_soon}}<div id="due-soon">{{> due-table}}</div></section>
            {{#compliance}}<section class="card" id="compliance"><h2>{{t.compliance}}: {{t.monthly_for}} {{month}} — {{filed}} / {{required}}</h2>
            <table><thead><tr><th>{{t.unit}}</th><th>{{t.status}}</th><th>{{t.time}}</th><th></th></tr></thead>
            <tbody>{{#rows}}<tr{{#bad}} class="overdue"{{/bad}}><td>{{unit}}</td><td>{{standing}}</td><td>{{filed}}</td><td>{{zero}}</td></tr>{{/rows}}</tbody></table></section>{{/compliance}}
            {{#stale_hours}}<section class="card" id="stale"><h2>{{t.stale}} {{t.stale_for}} {{stale_hours}}</h2>
            <ul>{{#stale}}<li>{{unit}} — {{last}}</li>{{/stale}}</ul>{{^stale}}<p>{{t.none}}</p>{{/stale}}</section>{{/stale_hours}}
            """,
        "overdue-table": """
            <table class="cases"><tbody>{{#overdue}}<tr class="overdue"><td><a href="{{href}}">{{id}}</a></td><td>{{title}}</td><td>{{lead}}</td><td>{{level}}</td><td>{{due}}</td></tr>{{/overdue}}</tbody></table>
            """,
        "due-table": """
            <table class="cases"><tbody>{{#due_soon}}<tr><td><a href="{{href}}">{{id}}</a></td><td>{{title}}</td><td>{{lead}}</td><td>{{level}}</td><td>{{due}}</td></tr>{{/due_soon}}</tbody></table>
            """,
        "cases": """
            <h1>{{t.found}}: {{total}}</h1>
            <form method="get" action="/console/cases" class="card filters" id="filters">
            <div class="field"><label for="q">{{t.search}}</label><input id="q" name="q" value="{{q}}" placeholder="{{t.search_hint}}"></div>
            <div class="field"><label for="level">{{t.level}}</label><select id="level" name="level">{{#level_options}}<option value="{{option_value}}"{{#option_selected}} selected{{/option_selected}}>{{option_label}}</option>{{/level_options}}</select></div>
            <div class="field"><label for="category">{{t.category}}</label><select id="category" name="category">{{#category_options}}<option value="{{option_value}}"{{#option_selected}} selected{{/option_selected}}>{{option_label}}</option>{{/category_options}}</select></div>
            <div class="field"><label for="status">{{t.status}}</label><select id="status" name="status">{{#status_options}}<option value="{{option_value}}"{{#option_selected}} selected{{/option_selected}}>{{option_label}}</option>{{/status_options}}</select></div>
            {{#unit_filter}}<div class="field"><label for="unit">{{t.unit}}</label><select id="unit" name="unit">{{#unit_options}}<option value="{{option_value}}"{{#option_selected}} selected{{/option_selected}}>{{option_label}}</option>{{/unit_options}}</select></div>{{/unit_filter}}
            <div class="field"><label><input type="checkbox" name="overdue" value="1"{{#overdue_checked}} checked{{/overdue_checked}}> {{t.overdue_only}}</label>
            <label><input type="checkbox" name="open" value="1"{{#open_checked}} checked{{/open_checked}}> {{t.open_only}}</label></div>
            <button type="submit" id="filter">{{t.filter}}</button></form>
            {{#search_error}}<p class="error" role="alert">{{search_error}}</p>{{/search_error}}
            {{> case-table}}
            <p class="pager">{{#has_prev}}<a href="{{prev}}" rel="prev">{{t.prev}}</a>{{/has_prev}} {{t.page}} {{page}} {{t.of}} {{pages}} {{#has_next}}<a href="{{next}}" rel="next" id="next-page">{{t.next}}</a>{{/has_next}}</p>
            """,
        "case": """
            <h1><span class="id" id="case-id">{{id}}</span> {{title}}</h1>
            {{#notice}}<p class="error" role="alert" id="notice">{{notice}}</p>{{/notice}}
            {{#saved}}<p class="ok" role="status" id="saved">{{saved}}</p>{{/saved}}
            {{#has_conflicts}}<p class="warn">{{t.case_conflicts}} {{conflicts}} {{#conflicts_link}}<a href="/console/conflicts">{{t.conflicts}}</a>{{/conflicts_link}}</p>{{/has_conflicts}}
            <div class="grid">
            <section class="card"><dl class="facts">
            <dt>{{t.status}}</dt><dd id="case-status">{{status}}</dd><dt>{{t.level}}</dt><dd id="case-level">{{level}}</dd><dt>{{t.category}}</dt><dd>{{category}}</dd>
            <dt>{{t.platform}}</dt><dd>{{platform}}</dd><dt>{{t.source}}</dt><dd>{{url}}</dd><dt>{{t.poster}}</dt><dd>{{poster}}</dd><dt>{{t.site}}</dt><dd>{{site}}</dd>
            <dt>{{t.discovered}}</dt><dd>{{discovered}}</dd><dt>{{t.unit}}</dt><dd>{{unit}}</dd><dt>{{t.concerned}}</dt><dd>{{concerned}}</dd>
            <dt>{{t.lead}}</dt><dd id="case-lead">{{lead}}</dd><dt>{{t.co_units}}</dt><dd>{{co_units}}</dd><dt>{{t.keywords}}</dt><dd>{{keywords}}</dd></dl>
            <h2>{{t.summary}}</h2><p class="text">{{summary}}</p><h2>{{t.excerpt}}</h2><p class="text">{{excerpt}}</p></section>
            <section class="card"><h2>{{t.deadlines}}</h2><table><thead><tr><th>{{t.clock}}</th><th>{{t.unit}}</th><th>{{t.due}}</th><th>{{t.met}}</th></tr></thead>
            <tbody>{{#clocks}}<tr{{#overdue}} class="overdue"{{/overdue}}><td>{{clock}}</td><td>{{unit}}</td><td>{{due}}</td><td>{{met}}</td></tr>{{/clocks}}</tbody></table>
            <h2>{{t.evidence}}</h2>{{^evidence}}<p>{{t.none}}</p>{{/evidence}}<ul>{{#evidence}}<li>{{name}} ({{type}}, {{bytes}} B, {{digest}}…, {{time}}, {{by}}) {{#held}}<a href="{{href}}">{{t.download}}</a>{{/held}}{{^held}}<em>{{t.not_held}}</em>{{/held}}</li>{{/evidence}}</ul>
            <h2>{{t.replies}}</h2>{{^replies}}<p>{{t.none}}</p>{{/replies}}
            <table id="replies"><tbody>{{#replies}}<tr><td>{{id}}</td><td>{{unit}}</td><td>v{{version}}</td><td class="stage">{{stage}}</td><td class="text">{{text}}</td><td>{{signed_by}}</td><td>{{reason}}</td><td>{{link}}</td></tr>{{/replies}}</tbody></table>
            <h2>{{t.reports}}</h2>{{^reports}}<p>{{t.none}}</p>{{/reports}}<ul>{{#reports}}<li>{{time}} {{unit}} {{kind}}: {{text}}</li>{{/reports}}</ul></section>
            </div>
            <section class="card"><h2>{{t.timeline}}</h2><table id="timeline"><thead><tr><th>{{t.time}}</th><th>{{t.step}}</th><th>{{t.by}}</th><th>{{t.role}}</th><th>{{t.device}}</th><th>{{t.detail}}</th></tr></thead>
            <tbody>{{#entries}}<tr{{#moot}} class="moot"{{/moot}}><td>{{time}}</td><td>{{step}}{{#moot}} ({{t.moot}}){{/moot}}</td><td>{{by}}</td><td>{{role}}</td><td>{{device}}</td><td class="text">{{detail}}</td></tr>{{/entries}}</tbody></table></section>
            <section><h2>{{t.steps}}</h2>{{^forms}}<p>{{t.no_steps}}</p>{{/forms}}<div class="forms">{{#forms}}{{> form}}{{/forms}}</div></section>
            """,
        "conflicts": """
            <h1>{{t.conflicts}} ({{count}})</h1>
            {{#resolved_now}}<p class="ok" role="status" id="saved">{{t.resolved_now}}</p>{{/resolved_now}}
            <table id="conflicts"><thead><tr><th>{{t.field}}</th><th>{{t.values}}</th><th>{{t.provisional}}</th></tr></thead>
            <tbody>{{#rows}}<tr><td><a href="{{href}}">{{record}} · {{field}}</a></td><td>{{values}}</td><td>{{provisional}}</td></tr>{{/rows}}</tbody></table>
            {{^rows}}<p>{{t.none}}</p>{{/rows}}
            <h2>{{t.resolved}}</h2><table id="resolutions"><tbody>{{#resolved}}<tr><td>{{time}}</td><td>{{record}} · {{field}}</td><td>{{value}}</td><td>{{by}}</td><td>{{note}}</td></tr>{{/resolved}}</tbody></table>
            """,
        "conflict": """
            <h1>{{record}} · {{field}}</h1>
            <p>{{#case_href}}<a href="{{case_href}}">{{t.open_case}}</a> · {{/case_href}}<a href="/console/conflicts">{{t.back_to_queue}}</a></p>
            <section class="card"><h2>{{t.base}}</h2><p id="base">{{base}} <small>{{base_author}} {{base_time}}</small></p></section>
            <table id="sides"><thead><tr><th>{{t.side}}</th><th>{{t.value}}</th><th>{{t.author}}</th><th>{{t.unit}}</th><th>{{t.device}}</th><th>{{t.time}}</th></tr></thead>
            <tbody>{{#sides}}<tr><td>{{n}}</td><td class="text">{{value}}</td><td>{{author}}</td><td>{{unit}}</td><td>{{device}} <small>{{device_user}}</small></td><td>{{time}}</td></tr>{{/sides}}</tbody></table>
            <p>{{t.provisional}}: {{provisional}}</p>
            {{#forms}}{{> form}}{{/forms}}
            """,
        "statistics": """
            <h1>{{t.statistics}} {{period}}</h1>
            <p>{{t.other_months}}: {{#months}}<a href="{{href}}">{{month}}</a> {{/months}} · {{t.export}}: <a href="{{csv}}" id="export-csv">CSV</a> <a href="{{xlsx}}" id="export-xlsx">XLSX</a></p>
            <div class="charts">{{{chart_level}}}{{{chart_unit}}}{{{chart_ontime}}}</div>
            {{#tables}}<section class="card wide"><h2>{{name}}</h2><div class="scroll"><table><thead><tr>{{#header}}<th>{{cell}}</th>{{/header}}</tr></thead>
            <tbody>{{#rows}}<tr>{{#cells}}<td>{{cell}}</td>{{/cells}}</tr>{{/rows}}</tbody></table></div>{{#empty}}<p>{{t.none}}</p>{{/empty}}</section>{{/tables}}
            """,
        "devices": """
            <h1>{{t.devices}}</h1>
            {{#code}}<section class="card ok" id="code"><p>{{t.code_made}} {{for}}:</p><p class="code" id="enrolment-code">{{code}}</p><p><small>{{t.code_use}}</small></p></section>{{/code}}
            <table id="devices"><thead><tr><th>{{t.device}}</th><th>{{t.user}}</th><th>{{t.unit}}</th><th>{{t.key}}</th><th>{{t.enrolled}}</th><th>{{t.seen}}</th><th></th></tr></thead>
            <tbody>{{#rows}}<tr{{#revoked}} class="moot"{{/revoked}}><td>{{id}}</td><td>{{user}}</td><td>{{unit}}</td><td><code>{{key}}</code></td><td>{{enrolled}}</td><td>{{seen}}</td>
            <td>{{#revoked}}{{t.revoked}} {{revoked_at}}{{/revoked}}{{^revoked}}<form method="post" action="{{revoke_action}}" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button class="danger">{{t.revoke}}</button></form>{{/revoked}}</td></tr>{{/rows}}</tbody></table>
            <div class="forms">{{#forms}}{{> form}}{{/forms}}</div>
            """,
        "organisation": """
            <h1>{{t.units}} · {{t.users}} · {{t.keywords}}</h1>
            {{#saved}}<p class="ok">{{saved}}</p>{{/saved}}
            <div class="grid">
            <section class="card"><h2>{{t.units}}</h2><table id="units"><tbody>{{#units}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{parent}}</td></tr>{{/units}}</tbody></table></section>
            <section class="card"><h2>{{t.users}}</h2><table id="users"><tbody>{{#users}}<tr><td>{{id}}</td><td>{{name}}</td><td>{{unit}}</td><td>{{roles}}</td></tr>{{/users}}</tbody></table></section>
            <section class="card"><h2>{{t.keywords}}</h2><table id="keywords"><tbody>{{#keywords}}<tr><td>{{word}}</td><td>{{topic}}</td><td>{{unit}}</td>
            <td>{{#active}}{{#edits_keywords}}<form method="post" action="/console/organisation/retire" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="word" value="{{retire_word}}"><input type="hidden" name="unit" value="{{retire_unit}}"><button>{{t.retire}}</button></form>{{/edits_keywords}}{{/active}}{{^active}}{{t.retired}}{{/active}}</td></tr>{{/keywords}}</tbody></table>
            <p>{{t.holidays}}: {{holidays}}</p></section>
            </div>
            <div class="forms">{{#forms}}{{> form}}{{/forms}}</div>
            """,
    ]

    static let stylesheet = """
        :root { --ink: #1d2733; --muted: #5b6773; --line: #d6dce2; --bg: #f4f6f8; --accent: #a8071a; --ok: #237804; --warn: #ad6800; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem; background: #fff; border-bottom: 3px solid var(--accent); }
        .brand { font-weight: 700; color: var(--accent); text-decoration: none; font-size: 1.1rem; }
        nav { display: flex; flex-wrap: wrap; gap: .25rem; }
        nav a { padding: .3rem .7rem; border-radius: 4px; color: var(--ink); text-decoration: none; }
        nav a.active, nav a:hover { background: var(--bg); font-weight: 600; }
        .who { margin-left: auto; display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; color: var(--muted); font-size: .9rem; }
        main { padding: 1rem; max-width: 1280px; margin: 0 auto; }
        h1 { font-size: 1.35rem; margin: .5rem 0 1rem; } h2 { font-size: 1.05rem; margin: 1rem 0 .5rem; } h3 { font-size: 1rem; margin: 0 0 .5rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
        .narrow { max-width: 420px; margin: 3rem auto; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem; }
        .forms { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-weight: 600; color: var(--muted); font-size: .85rem; }
        tr.overdue td { background: #fff1f0; } tr.moot td { color: var(--muted); text-decoration: line-through; }
        .scroll { overflow-x: auto; } .text { white-space: pre-wrap; word-break: break-word; }
        .field { display: flex; flex-direction: column; margin-bottom: .6rem; }
        .field label { font-weight: 600; font-size: .9rem; margin-bottom: .15rem; }
        input, select, textarea, button { font: inherit; padding: .4rem .5rem; border: 1px solid #b8c0c8; border-radius: 4px; background: #fff; }
        button { background: var(--ink); color: #fff; border: 0; cursor: pointer; padding: .45rem 1rem; }
        button.danger { background: var(--accent); }
        .filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; }
        .checks { display: flex; flex-wrap: wrap; gap: .25rem .75rem; } .checks label { font-weight: 400; }
        .invalid input, .invalid select, .invalid textarea { border-color: var(--accent); }
        .error, .field-error { color: var(--accent); font-weight: 600; margin: .25rem 0; }
        .ok { color: var(--ok); } .warn { color: var(--warn); }
        .code { font: 1.4rem/1.4 ui-monospace, monospace; letter-spacing: .1em; }
        form.inline { display: inline; } form.inline button { padding: .2rem .6rem; }
        .tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1rem; }
        .tile { display: flex; flex-direction: column; min-width: 120px; padding: .7rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 6px; color: var(--ink); text-decoration: none; }
        .tile .n { font-size: 1.8rem; font-weight: 700; } .tile.warn .n { color: var(--accent); }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; } dl.facts dt { color: var(--muted); }
        .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
        svg.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; width: 100%; height: auto; }
        .chart-title { font-weight: 700; font-size: 14px; fill: var(--ink); } .chart-label, .chart-value { font-size: 13px; fill: var(--ink); }
        .bar { fill: var(--accent); }
        .pager { display: flex; gap: 1rem; align-items: center; }
        @media (max-width: 720px) { .who { margin-left: 0; } main { padding: .5rem; } th, td { padding: .25rem; font-size: .9rem; } }
        """
}
