/* global location */
import { api } from '../api.js';
import { ErrorBox, Loading, Pager, SeverityBadge, StatusBadge, useLoad } from '../components.js';
import { formatCount, formatTime, hashHref, html, visible } from '../html.js';

const PAGE_SIZE = 50;

/** The IMDSv1 exposure backlog: roles and instances whose credentials are still fetched through IMDSv1. */
export function ExposurePage({ params }) {
  const parsed = Number.parseInt(params.get('page') ?? '1', 10);
  const page = Number.isFinite(parsed) && parsed > 0 ? parsed : 1;
  const offset = (page - 1) * PAGE_SIZE;
  const loaded = useLoad((signal) => api.exposure({ limit: PAGE_SIZE, offset }, signal), [offset]);
  const total = loaded.data?.total ?? 0;
  const items = loaded.data?.items ?? [];
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const go = (p) => (location.hash = p > 1 ? `#/exposure?page=${p}` : '#/exposure');
  return html`<section class="exposure">
    <h1 tabindex="-1">IMDSv1 exposure backlog</h1>
    <p class="lede">
      Roles whose instance credentials are still delivered through IMDSv1, most privileged first. Any SSRF on these
      instances can steal the role. Fix:
      <code class="nowrap">aws ec2 modify-instance-metadata-options --http-tokens required</code>.
    </p>
    <${ErrorBox} error=${loaded.error} />
    ${
      loaded.data === undefined && loaded.loading
        ? html`<${Loading} what="Loading the backlog" />`
        : html`<p class="summary" aria-live="polite">
              ${total === 0 ? 'Nothing fetched through IMDSv1 in this store.' : `${formatCount(offset + 1)}–${formatCount(offset + items.length)} of ${formatCount(total)}`}
            </p>
            ${
              items.length > 0
                ? html`<div class="table-wrap">
                    <table class="grid" data-testid="exposure">
                      <thead>
                        <tr>
                          <th scope="col">Severity</th>
                          <th scope="col">Role</th>
                          <th scope="col">Account</th>
                          <th scope="col">Instance</th>
                          <th scope="col" class="num">Calls</th>
                          <th scope="col">Last seen</th>
                          <th scope="col">Status</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${items.map(
                          (f) =>
                            html`<tr key=${f.id}>
                              <td><${SeverityBadge} severity=${f.severity} /></td>
                              <td>
                                <a href=${hashHref('finding', f.id)}>${f.principal?.role || f.title}</a>
                                <div class="sub">${visible(f.title)}</div>
                              </td>
                              <td class="mono nowrap">${f.accountId}</td>
                              <td class="mono nowrap">${f.principal?.instanceId}</td>
                              <td class="num">${formatCount(f.activity?.calls)}</td>
                              <td class="nowrap">${formatTime(f.activity?.lastSeen)}</td>
                              <td><${StatusBadge} status=${f.status} /></td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
                : null
            }
            ${html`<${Pager} page=${page} pages=${pages} go=${go} />`}`
    }
  </section>`;
}
