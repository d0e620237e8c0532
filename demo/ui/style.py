"""CSS of the parts around the results: the top row (title, badge, key panel), the price
line, an edit's before/after, this session's runs and the showcase.

Kept apart from ``theme.CSS`` (which includes it) so the first screen's rules read in
one place. The results column orders its children with ``order``: the status line, the
before/after, the results, the runs, the showcase; before any result the empty
gallery, selection and table step aside and the showcase comes up under the status.
"""

from __future__ import annotations

# Below this width the page is one column: prompt, Generate, the result, then settings.
PHONE_MAX_PX = 899

SHOWCASE_CSS = f"""
#top {{ align-items: flex-start; gap: 12px 24px; flex-wrap: wrap; }}
#top > #header {{ flex: 1 1 420px; min-width: 0; }}
#backend-box {{ flex: 0 1 440px !important; min-width: 0 !important; gap: 6px; align-items: flex-end; }}
#backend-box > * {{ width: 100%; }}
#badge-box {{ display: flex; justify-content: flex-end; padding: 0 !important; }}
#panel-key {{ padding: 4px 12px !important; }}
#key-help p {{ font-size: 0.86rem; margin: 0 0 4px 0; }}
#key-help a {{ color: var(--body-text-color); text-decoration: underline; font-weight: 600; }}
@media (max-width: {PHONE_MAX_PX}px) {{
  #backend-box {{ flex: 1 1 100% !important; align-items: stretch; }}
  #badge-box {{ justify-content: flex-start; }}
  #top {{ gap: 6px; }}
  .backend-badge {{ font-size: 0.82rem; padding: 5px 10px; }}
  #hero p {{ line-height: 1.35; }}
  #hero h1 .model-id {{ font-size: 0.74rem; margin-left: 4px; }}
  #price p, #showcase-heading p {{ font-size: 0.86rem; line-height: 1.4; }}
}}
#share-note:not(:has(p)) {{ display: none; }}
#price-row {{ align-items: center; gap: 8px; flex-wrap: nowrap; }}
#price {{ flex: 1 1 auto; min-width: 0; }}
#price p, #share-note p, #link-note p, #link-note li {{ margin: 0; font-size: 0.9rem;
  overflow-wrap: anywhere; }}
#link-note {{ padding: 8px 10px; border-radius: var(--radius-md);
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }}

#results > #status {{ order: -5; }}
#results > #before-after {{ order: -4; }}
#results > #history {{ order: 1; }}
#results > #showcase {{ order: 2; }}
#results:has(#results-gallery .empty):not(:has(#results-gallery.webhook)) > :is(#results-gallery, #selection,
  #result-table) {{ display: none !important; }}
#results:has(#results-gallery .empty) > #showcase {{ order: -3; }}
/* A new run clears the gallery first: the last run's before/after goes with it. */
#results:has(#results-gallery .empty) > #before-after {{ display: none !important; }}

#showcase, #showcase > * {{ border: none !important; background: none !important; }}
#showcase {{ gap: 8px; }}
#showcase-heading p {{ margin: 0; font-size: 0.95rem; }}
#showcase-gallery, #history-strip, #compare-grid {{ border: none !important; padding: 0 !important; }}
#showcase-gallery .grid-wrap, #history-strip .grid-wrap, #compare-grid .grid-wrap {{
  max-height: none !important; min-height: 0 !important; height: auto !important;
  overflow: visible !important; padding: 0 !important; }}
#showcase-gallery .grid-container, #compare-grid .grid-container {{ gap: 12px;
  grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important; }}
#showcase-gallery .empty {{ min-height: 300px; }}
#showcase-gallery .thumbnail-item {{ aspect-ratio: auto !important; height: auto !important; display: flex;
  flex-direction: column; align-items: stretch; padding: 0; overflow: hidden; cursor: pointer;
  border-radius: var(--radius-lg); background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); box-shadow: none; }}
#showcase-gallery .thumbnail-item:hover {{ border-color: var(--color-accent); transform: translateY(-1px); }}
#showcase-gallery .thumbnail-item img {{ width: 100% !important; height: auto !important; aspect-ratio: 4 / 3;
  object-fit: contain !important; }}
#showcase-gallery .caption-label {{ position: static !important; max-width: none !important;
  white-space: pre-line; overflow: visible; text-overflow: clip; text-align: left;
  font-size: 0.82rem; line-height: 1.35;
  padding: 8px 10px 10px !important; margin: 0 !important; background: none !important;
  color: var(--body-text-color) !important; border-radius: 0; }}
#showcase-gallery .caption-label::first-line {{ font-weight: 700; font-size: 0.92rem; }}
#history-strip .grid-container {{ grid-template-columns: repeat(6, minmax(0, 1fr)) !important; gap: 8px; }}
@media (max-width: 480px) {{
  #history-strip .grid-container {{ grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }}
  #compare-grid .grid-container {{ grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }}
}}
#history-strip .thumbnail-item {{ aspect-ratio: 1 / 1 !important; height: auto !important;
  background: var(--background-fill-secondary); }}
#history-strip .thumbnail-item img, #compare-grid .thumbnail-item img {{ object-fit: contain !important; }}
#history-strip .caption-label, #compare-grid .caption-label {{ font-size: 0.74rem; padding: 1px 6px; }}
/* A run's label switches colours at once: Gradio fades them, and for the fade after a
   click the label reads grey on lavender (1.8:1). */
#compare-pick label, #compare-pick label * {{ transition: none !important; }}
#history-heading p {{ margin: 0; font-size: 0.9rem; }}
@media (max-width: 480px) {{
  #showcase-gallery .grid-container {{ gap: 8px; }}
  #showcase-gallery .caption-label {{ font-size: 0.72rem; padding: 6px 7px 8px !important; }}
  #showcase-gallery .caption-label::first-line {{ font-size: 0.8rem; }}
}}
@media (min-width: {PHONE_MAX_PX + 1}px) {{ .backend-badge {{ white-space: nowrap; }} }}
#before-after img {{ object-fit: contain !important; }}
#before-after .icon {{ color: #ffffff !important; }}  /* the handle's arrows, on the accent */
"""
